/* The exception upcall: the kernel enters here in ring 3 with RDI = the
 * shared page (the trap, RIP, RFLAGS, RSP and RAX, RCX, RDI, R11, the
 * registers it clobbered, saved there, upcalls-disabled word set), RAX =
 * the vector, RSP = the stack below, DF clear. Saves what the handler's
 * Swift code may clobber, calls the vector's handler, and resumes the
 * interrupted code without entering the kernel. */
#include "include/exo_user.h"

#if !defined(__linux__) /* the host build compiles only the header, for its tests */

#define GPR(i) (EXO_SLOT_GPRS + 8 * (i))
/* The resume frame on the interrupted stack, just below its red zone: RAX,
 * RFLAGS, RIP (lowest first), pushed there from the slot.
 * `popq %rax; popfq; retq $128` leaves RSP where it was. */

.text
.globl exo_exception_entry
.type exo_exception_entry, @function
exo_exception_entry:
  /* The Swift code keeps RBX, RBP and R12-R15 by the System V ABI, so for
   * an exception they are never saved: they stay in the registers, the
   * thread's own, until the resume. Only what a call may clobber goes into
   * the slot, beside the kernel's RAX, RCX, RDI, R11. */
  movq %rdx, GPR(3)(%rdi)
  movq %rsi, GPR(4)(%rdi)
  movq %r8, GPR(7)(%rdi)
  movq %r9, GPR(8)(%rdi)
  movq %r10, GPR(9)(%rdi)
  fxsave64 EXO_SLOT_FPU(%rdi)       /* the handler's Swift code may use SSE */
  /* The vector's handler, called straight: for an exception a direct one
   * (Exceptions.install with a vector) or exo_exception_dispatch, which
   * runs the app's closure; for a slice start or an event, upcall_full.
   * The image sits below 2 GiB, so the table's address fits the displacement. */
  call *exo_exception_handlers(, %rax, 8)   /* RDI = the page; true when resolved */
  testb %al, %al
  jz unresolved
  incq exo_exception_count(%rip)
  movq exo_exception_page(%rip), %rax

/* RAX = the shared page. While the disabled word is set, the registers are
 * loaded straight from the slot (a slice end then saves into the kernel's
 * other slot and resumes here), and RAX, RFLAGS and RIP, which are still
 * needed, go onto the interrupted stack below its red zone; then the word
 * is cleared, and what is left reads only the thread's own stack. So an
 * upcall that arrives after the clear may overwrite the slot at any
 * instruction. A bad saved RSP faults while the word is set: the kernel
 * ends the env ("fault in handler"). */
exception_resume:
  fxrstor64 EXO_SLOT_FPU(%rax)
  movq EXO_SLOT_RSP(%rax), %rsp
  subq $EXO_RED_ZONE, %rsp
  pushq EXO_SLOT_RIP(%rax)           /* each push copies one slot word: the frame, highest first */
  pushq EXO_SLOT_RFLAGS(%rax)
  pushq GPR(0)(%rax)
  movq GPR(2)(%rax), %rcx
  movq GPR(3)(%rax), %rdx
  movq GPR(4)(%rax), %rsi
  movq GPR(5)(%rax), %rdi
  movq GPR(7)(%rax), %r8
  movq GPR(8)(%rax), %r9
  movq GPR(9)(%rax), %r10
  movq GPR(10)(%rax), %r11
  movq $0, EXO_SLOT_UPCALLS_DISABLED(%rax)
  popq %rax
  popfq
  retq $EXO_RED_ZONE

/* A slice start or an event (the table's entries 0x100 and 0x101): the
 * kernel made these upcalls in Swift, which saved every register into the
 * slot, since the context may be switched away from (a preempted thread's
 * frame is built from the slot). All of it comes back, as the handler left
 * it; this never returns to the entry's call. */
upcall_full:
  subq $8, %rsp                      /* 16-byte aligned for the call */
  call exo_upcall_dispatch           /* or switches threads and never returns */
  addq $16, %rsp                     /* and the entry's return address */
  movq exo_exception_page(%rip), %rax
  movq GPR(1)(%rax), %rbx
  movq GPR(6)(%rax), %rbp
  movq GPR(11)(%rax), %r12
  movq GPR(12)(%rax), %r13
  movq GPR(13)(%rax), %r14
  movq GPR(14)(%rax), %r15
  jmp exception_resume

/* A vector the kernel never sends (the table's 32-255): reported. */
upcall_stray:
  subq $8, %rsp
unresolved:
  movq exo_exception_page(%rip), %rdi
  call exo_exception_unresolved      /* reports and exits */
  ud2
.size exo_exception_entry, . - exo_exception_entry

.data
.p2align 3
/* The handler of each vector the kernel upcalls with (RAX): exceptions
 * (exo_exception_handler_set; the closure dispatcher until an app installs
 * one of its own), then a slice start (0x100) and an event (0x101). */
.globl exo_exception_handlers
exo_exception_handlers:
  .rept EXO_UPCALL_VECTORS
  .quad exo_exception_dispatch
  .endr
  .rept 256 - EXO_UPCALL_VECTORS
  .quad upcall_stray
  .endr
  .quad upcall_full                  /* ExceptionSlot.sliceStart */
  .quad upcall_full                  /* EventSlot.delivery */
.globl exo_exception_default
exo_exception_default:
  .quad exo_exception_dispatch

.bss
.p2align 3
.globl exo_exception_page, exo_exception_count
exo_exception_page:                  /* the shared page's address, set when it is registered */
  .skip 8
exo_exception_count:                 /* exceptions handled so far (Exceptions.count) */
  .skip 8
.p2align 4
.globl exo_exception_stack
exo_exception_stack:
  .skip EXO_EXCEPTION_STACK_SIZE

#endif
