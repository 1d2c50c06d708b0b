/* The user-level thread switch: saves what the System V ABI says a callee
 * must preserve (RBX RBP R12-R15, RSP) and the thread's depth inside the
 * thread library on the running thread's stack, and resumes the other
 * thread from its stack. Everything else is caller-saved, so the Swift
 * caller has already spilled what it needs. No kernel entry: the switch is
 * all user mode.
 * MXCSR's control bits and the x87 control word are callee-saved too, but
 * they cannot differ between this env's threads: the kernel starts the env
 * with the ABI's values (0x1f80, 0x037f), a new thread inherits them, and no
 * code of the libOS or its apps (Swift, no fesetround, no inline assembly)
 * changes them. So they are env-wide and the switch leaves them alone. A
 * preempted thread still gets its whole FXSAVE image back (fxrstor below).
 * With preemption (runtime/Threads.swift), a slice-start upcall never takes
 * the CPU while RIP is in this file (exo_thread_code_start..end): the code
 * here runs between a thread's saved frame and its own state. */
#include "include/exo_user.h"

#if !defined(__linux__) /* image code only: the host build compiles just the header, for its tests */

/* What the System V ABI keeps across a call, below the switch frame. */
.macro SAVE_CALLEE_SAVED
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
.endm

/* RSP at a switch frame: the thread's depth, its callee-saved registers,
 * where it resumes. */
.macro SWITCH_RESTORE
  popq exo_thread_critical(%rip)
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  retq
.endm

.text
.globl exo_thread_code_start
exo_thread_code_start:
/* void exo_thread_switch(long from, long to): slots, so both saved RSPs
 * are at fixed addresses (the image is linked below 2 GiB). */
.globl exo_thread_switch
.type exo_thread_switch, @function
exo_thread_switch:
  SAVE_CALLEE_SAVED
  pushq exo_thread_critical(%rip)
  movq %rsp, exo_thread_saved_rsp(,%rdi,8)
  movq exo_thread_saved_rsp(,%rsi,8), %rsp
exo_thread_switch_restore:
  SWITCH_RESTORE
.size exo_thread_switch, . - exo_thread_switch

/* void exo_thread_switch_leave(long from, long to): the
 * same for a caller whose only act after resuming would be to leave its
 * section of the thread library (Threads.yield): it leaves it here, so the
 * depth it saves is one less, and the caller can jump here as its last act
 * (a tail call), resuming straight into its own caller. Until RSP moves,
 * RIP is in this file, so the lower depth lets no upcall preempt it. */
.globl exo_thread_switch_leave
.type exo_thread_switch_leave, @function
exo_thread_switch_leave:
  SAVE_CALLEE_SAVED
  decq exo_thread_critical(%rip)
  pushq exo_thread_critical(%rip)
  movq %rsp, exo_thread_saved_rsp(,%rdi,8)
  movq exo_thread_saved_rsp(,%rsi,8), %rsp
  SWITCH_RESTORE
.size exo_thread_switch_leave, . - exo_thread_switch_leave

/* A new thread's first instruction: a switch "returns" here on the fresh
 * stack the runtime built (Threads.spawn), its depth 1 (inside the library)
 * until runCurrent sets 0. The Swift entry runs the thread's body and never
 * returns. */
.globl exo_thread_trampoline
.type exo_thread_trampoline, @function
exo_thread_trampoline:
  xorl %ebp, %ebp                  /* the end of the frame chain, for gdb */
  andq $-16, %rsp
  call exo_thread_main
  ud2
.size exo_thread_trampoline, . - exo_thread_trampoline

/* void exo_thread_preempt_switch(void *shared_page, uint64_t next_rsp):
 * the slice-start handler has copied the interrupted thread's state from
 * the slot onto that thread's stack (PreemptedFrame.swift), so the slot is
 * no longer needed: leave the exception stack for the next thread's, and
 * only then clear the upcalls-disabled word (an upcall from here on starts
 * the exception stack afresh, and sees RIP in this file, so it resumes).
 * Then the next thread resumes as from exo_thread_switch, with its depth. */
.globl exo_thread_preempt_switch
.type exo_thread_preempt_switch, @function
exo_thread_preempt_switch:
  movq %rsi, %rsp
  movq $0, EXO_SLOT_UPCALLS_DISABLED(%rdi)
  jmp exo_thread_switch_restore
.size exo_thread_preempt_switch, . - exo_thread_preempt_switch

/* A preempted thread's switch.S frame returns here, RSP = its FXSAVE image,
 * RBX = its exception.S-style frame (GPRs, RFLAGS, RIP, below the red
 * zone). It was preempted outside the thread library, so its depth there
 * is 0 (its frame's depth word says 1, so that nothing preempts it before
 * this point). Everything it needs is at or above RSP at every step, so even a
 * preemption here (not taken: RIP is in this file) would be exact. */
.globl exo_thread_resume_preempted
.type exo_thread_resume_preempted, @function
exo_thread_resume_preempted:
  movq $0, exo_thread_critical(%rip)
  fxrstor64 (%rsp)
  movq %rbx, %rsp
  EXO_RESUME_INTERRUPTED
.size exo_thread_resume_preempted, . - exo_thread_resume_preempted
.globl exo_thread_code_end
exo_thread_code_end:

/* The running thread's depth inside the thread library (ThreadCritical in
 * Threads.swift): a slice-start upcall preempts only at depth 0. */
.bss
.p2align 3
.globl exo_thread_critical
exo_thread_critical:
  .quad 0

/* Each thread's saved RSP while it is not running, by slot. */
.globl exo_thread_saved_rsp
exo_thread_saved_rsp:
  .space 8 * EXO_THREAD_CAPACITY

#endif
