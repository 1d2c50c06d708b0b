/* memset, memcpy, memmove, memcmp for the user runtime, in assembly so the
 * compiler cannot turn their loops back into calls to themselves. */
.text
.globl memset
memset:
  movq %rdi, %r9
  movl %esi, %eax
  movq %rdx, %rcx
  rep stosb
  movq %r9, %rax
  ret

.globl memcpy
.globl memmove
memmove:
  cmpq %rsi, %rdi
  jbe memcpy
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
  rep movsb
  ret

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
