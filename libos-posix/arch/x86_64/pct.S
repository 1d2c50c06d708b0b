/* The entry of a protected control transfer: the kernel starts an
 * activation here with RDI = the caller, RSI, RDX, R10 = its three words and
 * RSP = the activation stack (16-byte aligned), every other register zero.
 * The handler's word goes straight back by pct_reply, after a console line
 * the handler left unfinished (exo_console_pending, Console.swift). */
#include "include/exo_user.h"

#if !defined(__linux__) /* the host build compiles only the header, for its tests */

.text
.globl exo_pct_entry
.type exo_pct_entry, @function
exo_pct_entry:                      /* RSP: 16-byte aligned (pct_listen checks it) */
  movq %r10, %rcx                   /* the third word: the C ABI's fourth argument */
  call *exo_pct_handler(%rip)       /* the reply word */
  movq %rax, %rdi
  cmpq $0, exo_console_pending(%rip)
  jne 2f
1:
  movl $EXO_PCT_REPLY, %eax
  syscall                           /* pct_reply does not return */
  ud2
2:
  pushq %rdi
  pushq %rdi                        /* RSP stays 16-byte aligned for the call */
  call exo_pct_flush                /* the line the handler left unfinished goes first */
  popq %rdi
  popq %rdi
  jmp 1b
.size exo_pct_entry, . - exo_pct_entry

.bss
.p2align 3
.globl exo_pct_handler
exo_pct_handler:
  .quad 0
.globl exo_console_pending
exo_console_pending:                /* Console.count: bytes of a line not yet written */
  .quad 0
.p2align 4
.globl exo_pct_stack
exo_pct_stack:
  .skip EXO_PCT_STACK_SIZE

#endif
