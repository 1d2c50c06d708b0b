/* A probe of what a protected control transfer lets through, for apps/pct's
 * hostile checks: the caller fills every register it can with its own
 * pattern and calls; the callee's entry records every register and its
 * FXSAVE image as the kernel handed them over, fills every register with
 * its own pattern and replies; the caller records every register it gets
 * back. Swift (apps/pct) then compares them byte for byte. A call whose
 * first word is not EXO_PROBE_WORD goes to the ordinary entry. */
#include "include/exo_user.h"

#if !defined(__linux__) /* image code only: the host build compiles just the header, for its tests */

/* Every general register into \area (struct exo_probe_registers order). */
.macro RECORD_REGISTERS area
  movq %rax, \area+0(%rip)
  movq %rbx, \area+8(%rip)
  movq %rcx, \area+16(%rip)
  movq %rdx, \area+24(%rip)
  movq %rsi, \area+32(%rip)
  movq %rdi, \area+40(%rip)
  movq %rbp, \area+48(%rip)
  movq %rsp, \area+56(%rip)
  movq %r8, \area+64(%rip)
  movq %r9, \area+72(%rip)
  movq %r10, \area+80(%rip)
  movq %r11, \area+88(%rip)
  movq %r12, \area+96(%rip)
  movq %r13, \area+104(%rip)
  movq %r14, \area+112(%rip)
  movq %r15, \area+120(%rip)
  fxsave64 \area+128(%rip)
.endm

/* \pattern (a register) into every XMM register, its bytes rotated by one per register. */
.macro FILL_XMM pattern
  movq \pattern, %xmm0
  punpcklqdq %xmm0, %xmm0
  .irp n, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
  rolq $8, \pattern
  movq \pattern, %xmm\n
  punpcklqdq %xmm\n, %xmm\n
  .endr
.endm

.text
.globl exo_pct_probe_entry
.type exo_pct_probe_entry, @function
exo_pct_probe_entry:
  cmpq $EXO_PROBE_WORD, %rsi
  jne exo_pct_entry
  RECORD_REGISTERS exo_probe_callee_seen
  movabsq $EXO_PROBE_CALLEE_PATTERN, %rbx
  FILL_XMM %rbx
  movq %rbx, %rcx
  movq %rbx, %rdx
  movq %rbx, %rsi
  movq %rbx, %rbp
  movq %rbx, %r8
  movq %rbx, %r9
  movq %rbx, %r10
  movq %rbx, %r11
  movq %rbx, %r12
  movq %rbx, %r13
  movq %rbx, %r14
  movq %rbx, %r15
  movq %rbx, %rsp                   /* not even its stack pointer may reach the caller */
  movq $EXO_PROBE_REPLY, %rdi
  movl $EXO_PCT_REPLY, %eax
  syscall
  ud2
.size exo_pct_probe_entry, . - exo_pct_probe_entry

/* struct exo_call_result exo_pct_probe_call(env, number): calls with every
 * register but RSP set (the words: EXO_PROBE_WORD, 2, 3) and records what
 * comes back in exo_probe_caller_back, and what it set in
 * exo_probe_caller_sent. */
.globl exo_pct_probe_call
.type exo_pct_probe_call, @function
exo_pct_probe_call:
  .irp r, rbp, rbx, r12, r13, r14, r15   /* what the System V ABI keeps across a call */
  pushq %\r
  .endr
  movq %rsi, %rax
  movabsq $EXO_PROBE_CALLER_PATTERN, %rbx
  FILL_XMM %rbx
  movabsq $EXO_PROBE_CALLER_PATTERN, %rbx
  leaq 1(%rbx), %rbp
  leaq 2(%rbx), %r12
  leaq 3(%rbx), %r13
  leaq 4(%rbx), %r14
  leaq 5(%rbx), %r15
  leaq 6(%rbx), %r8
  leaq 7(%rbx), %r9
  leaq 8(%rbx), %rcx
  leaq 9(%rbx), %r11
  movq $EXO_PROBE_WORD, %rsi
  movl $2, %edx
  movl $3, %r10d
  RECORD_REGISTERS exo_probe_caller_sent
  syscall
  RECORD_REGISTERS exo_probe_caller_back
  .irp r, r15, r14, r13, r12, rbx, rbp
  popq %\r
  .endr
  ret
.size exo_pct_probe_call, . - exo_pct_probe_call

.bss
.p2align 4
.globl exo_probe_callee_seen, exo_probe_caller_sent, exo_probe_caller_back
exo_probe_callee_seen:
  .skip EXO_PROBE_AREA_SIZE
exo_probe_caller_sent:
  .skip EXO_PROBE_AREA_SIZE
exo_probe_caller_back:
  .skip EXO_PROBE_AREA_SIZE

#endif
