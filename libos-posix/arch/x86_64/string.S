/* memset, memcpy, memmove, memcmp for the user runtime, in assembly so the
 * compiler cannot turn their loops back into calls to themselves. */
#if !defined(__linux__) /* image code only: the host build compiles just the header, for its tests */

.text
.globl memset
memset:                           /* eight bytes a step: page zeroing is on the boot path */
  movq %rdi, %r9
  movzbl %sil, %eax
  movabsq $0x0101010101010101, %r8
  imulq %r8, %rax
  movq %rdx, %rcx
  shrq $3, %rcx
  rep stosq
  movq %rdx, %rcx
  andq $7, %rcx
  rep stosb
  movq %r9, %rax
  ret

.globl memcpy
.globl memmove
memmove:                          /* backwards only when the ranges overlap that way */
  movq %rdi, %rax
  subq %rsi, %rax
  cmpq %rdx, %rax
  jae memcpy
  movq %rdi, %rax
  leaq -1(%rdi, %rdx), %rdi
  leaq -1(%rsi, %rdx), %rsi
  movq %rdx, %rcx
  std
  rep movsb
  cld
  ret
memcpy:
  movq %rdi, %rax
  movq %rdx, %rcx
  shrq $3, %rcx
  rep movsq
  movq %rdx, %rcx
  andq $7, %rcx
  rep movsb
  ret

.globl free                      /* libos-posix/runtime/Memory.swift */
free:
  jmp exo_runtime_free

.globl memcmp
memcmp:
  xorl %eax, %eax
  testq %rdx, %rdx
  jz 2f
1:
  movzbl (%rdi), %eax
  movzbl (%rsi), %ecx
  subl %ecx, %eax
  jnz 2f
  incq %rdi
  incq %rsi
  decq %rdx
  jnz 1b
2:
  ret

#endif
