/* The entry of a protected control transfer: the kernel starts an
 * activation here with RDI = the caller, RSI, RDX, R10 = its three words and
 * RSP = the activation stack (16-byte aligned), every other register zero.
 * The handler's word goes straight back by pct_reply. exo_pct_call is the
 * caller's stub: the kernel-call ABI's registers, and RAX, RDX back. */
#include "include/exo_user.h"

#if !defined(__linux__) /* the host build compiles only the header, for its tests */

.text
.globl exo_pct_entry
.type exo_pct_entry, @function
exo_pct_entry:
  andq $-16, %rsp
  movq %r10, %rcx                   /* the third word: the C ABI's fourth argument */
  call exo_pct_dispatch             /* the reply word */
  movq %rax, %rdi
  movl $EXO_PCT_REPLY, %eax
  syscall                           /* pct_reply does not return */
  ud2
.size exo_pct_entry, . - exo_pct_entry

/* exo_pct_call(env, w0, w1, w2, number): pct_call or pct_send. */
.globl exo_pct_call
.type exo_pct_call, @function
exo_pct_call:
  movq %rcx, %r10
  movq %r8, %rax
  syscall
  ret
.size exo_pct_call, . - exo_pct_call

.bss
.p2align 4
.globl exo_pct_stack
exo_pct_stack:
  .skip EXO_PCT_STACK_SIZE

#endif
