/* The exception upcall: the kernel enters here in ring 3 with RDI = the
 * shared page (the trap, RIP, RFLAGS, RSP and RAX, RCX, RDI, the registers it
 * clobbered, saved there, upcalls-disabled word set), RSP = the stack below, DF clear. Saves FP state, runs the Swift dispatcher, and resumes
 * the faulting code without entering the kernel. */
#include "include/exo_user.h"

#if !defined(__linux__) /* the host build compiles only the header, for its tests */

#define GPR(i) (EXO_SLOT_GPRS + 8 * (i))
/* The resume frame sits on the interrupted stack just below its red zone:
 * 15 GPRs (R15 lowest, RAX highest), then RFLAGS at RSP-144, RIP at RSP-136. */
#define FRAME_SIZE (8 * EXO_SLOT_GPR_COUNT + 16 + EXO_RED_ZONE)
#define FRAME_GPR(i) (8 * (EXO_SLOT_GPR_COUNT - 1 - (i)))
#define FRAME_RFLAGS (8 * EXO_SLOT_GPR_COUNT)
#define FRAME_RIP (8 * EXO_SLOT_GPR_COUNT + 8)

.text
.globl exo_exception_entry
.type exo_exception_entry, @function
exo_exception_entry:
  /* The kernel saved only what it clobbered (the trap, RIP, RFLAGS, RSP,
   * RAX, RCX, RDI); every other register is still the thread's. */
  movq %rbx, GPR(1)(%rdi)
  movq %rdx, GPR(3)(%rdi)
  movq %rsi, GPR(4)(%rdi)
  movq %rbp, GPR(6)(%rdi)
  movq %r8, GPR(7)(%rdi)
  movq %r9, GPR(8)(%rdi)
  movq %r10, GPR(9)(%rdi)
  movq %r11, GPR(10)(%rdi)
  movq %r12, GPR(11)(%rdi)
  movq %r13, GPR(12)(%rdi)
  movq %r14, GPR(13)(%rdi)
  movq %r15, GPR(14)(%rdi)
  fxsave64 EXO_SLOT_FPU(%rdi)       /* the handler's Swift code may use SSE */
  movq %rdi, %rbx                    /* callee-saved: survives the dispatcher */
  call exo_exception_dispatch        /* returns only if the exception was resolved */
  movq %rbx, %rax

/* RAX = the shared page. While the disabled word is set, copy the saved
 * state onto the interrupted stack below its red zone; clear the word; then
 * everything left is pops from the thread's own stack. So an upcall that
 * arrives after the clear (the next fault, a slice end) may overwrite the
 * slot at any instruction: the thread's state is no longer there. */
.globl exo_exception_resume
exo_exception_resume:
  fxrstor64 EXO_SLOT_FPU(%rax)
  movq EXO_SLOT_RSP(%rax), %rsp
  subq $FRAME_SIZE, %rsp
  movq EXO_SLOT_RFLAGS(%rax), %rcx
  movq %rcx, FRAME_RFLAGS(%rsp)
  movq EXO_SLOT_RIP(%rax), %rcx
  movq %rcx, FRAME_RIP(%rsp)
  .irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14
  movq GPR(\i)(%rax), %rcx
  movq %rcx, FRAME_GPR(\i)(%rsp)
  .endr
  movq $0, EXO_SLOT_UPCALLS_DISABLED(%rax)
  EXO_RESUME_INTERRUPTED
.size exo_exception_entry, . - exo_exception_entry

.bss
.p2align 4
.globl exo_exception_stack
exo_exception_stack:
  .skip EXO_EXCEPTION_STACK_SIZE

#endif
