/* The user-level thread switch: saves what the System V ABI says a callee
 * must preserve (RBX RBP R12-R15, RSP, MXCSR's control bits and the x87
 * control word) on the running thread's stack, and resumes the other thread
 * from its stack. Everything else is caller-saved, so the Swift caller has
 * already spilled what it needs. No kernel entry: the switch is all user mode. */
#include "include/exo_user.h"

#if !defined(__linux__) /* image code only: the host build compiles just the header, for its tests */

.text
/* void exo_thread_switch(uint64_t *save_rsp, uint64_t next_rsp) */
.globl exo_thread_switch
.type exo_thread_switch, @function
exo_thread_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $16, %rsp
  stmxcsr EXO_SWITCH_MXCSR(%rsp)
  fnstcw EXO_SWITCH_FCW(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr EXO_SWITCH_MXCSR(%rsp)
  fldcw EXO_SWITCH_FCW(%rsp)
  addq $16, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  retq
.size exo_thread_switch, . - exo_thread_switch

/* A new thread's first instruction: exo_thread_switch "returns" here on the
 * fresh stack the runtime built (exo_thread_initial_frame). The Swift entry
 * runs the thread's body and never returns. */
.globl exo_thread_trampoline
.type exo_thread_trampoline, @function
exo_thread_trampoline:
  xorl %ebp, %ebp                  /* the end of the frame chain, for gdb */
  andq $-16, %rsp
  call exo_thread_main
  ud2
.size exo_thread_trampoline, . - exo_thread_trampoline

#endif
