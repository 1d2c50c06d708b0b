/* An app's first instruction. The kernel enters with RDI = env id,
 * RSI/RDX = the boot argument's address and length, RSP near the stack top. */
#include "include/exo_user.h"

#if !defined(__linux__) /* image code only: the host build compiles just the header, for its tests */

.section .text.entry, "ax"
.globl _start
_start:
  andq $-16, %rsp
  call exo_runtime_start          /* keeps RDI/RSI/RDX for the app */
  xorl %edi, %edi
  xorl %esi, %esi
  call main                       /* the app's @main */
  movl %eax, %edi
  call exo_runtime_exit
  ud2

.bss
.p2align 12
.globl exo_heap_storage
exo_heap_storage:
  .skip EXO_HEAP_ARENA_SIZE

#endif
