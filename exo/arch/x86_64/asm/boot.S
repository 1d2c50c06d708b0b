/* Multiboot (v1) entry: 32-bit protected mode with paging off, as QEMU's
 * -kernel leaves us. Builds the boot page tables (identity + direct map of
 * the first 4 GiB, kernel in the top 2 GiB, all 2 MiB pages), enters long
 * mode and calls kmain(multiboot magic, multiboot info physical address). */

.set KERNEL_VMA,   0xffffffff80000000
.set MB_MAGIC,     0x1BADB002
.set MB_FLAGS,     (1 << 0) | (1 << 1) | (1 << 16)   /* page-aligned modules, memory map, a.out kludge */

.section .multiboot, "a"
.p2align 2
multiboot_header:
  .long MB_MAGIC
  .long MB_FLAGS
  .long -(MB_MAGIC + MB_FLAGS)
  .long multiboot_header          /* header_addr: .boot is linked at its physical address */
  .long __kernel_phys_start       /* load_addr */
  .long __kernel_load_end_phys    /* load_end_addr */
  .long __kernel_bss_end_phys     /* bss_end_addr: the loader zeroes .bss */
  .long _start32                  /* entry_addr */

.section .boot.text, "ax"
.code32
.globl _start32
_start32:
  cli
  movl %eax, %edi                 /* multiboot magic */
  movl %ebx, %esi                 /* multiboot info */
  rdtsc                           /* the boot benchmark counts from here */
  movl %eax, (kernel_entry_tsc - KERNEL_VMA)
  movl %edx, (kernel_entry_tsc - KERNEL_VMA + 4)

  /* Four page directories map 0..4 GiB with 2 MiB global pages. */
  movl $(boot_pd - KERNEL_VMA), %ebx
  xorl %ecx, %ecx
1:
  movl %ecx, %eax
  shll $21, %eax
  orl $0x183, %eax                /* present, writable, 2 MiB, global */
  movl %eax, (%ebx, %ecx, 8)
  movl %ecx, %eax
  shrl $11, %eax                  /* bits 32+ of the physical address */
  movl %eax, 4(%ebx, %ecx, 8)
  incl %ecx
  cmpl $2048, %ecx
  jne 1b

  /* PDPT for the low 4 GiB: used by the identity map and the direct map. */
  movl $(boot_pdpt_low - KERNEL_VMA), %edx
  movl $(boot_pd - KERNEL_VMA + 0x0003), %eax
  movl %eax, 0(%edx)
  addl $0x1000, %eax
  movl %eax, 8(%edx)
  addl $0x1000, %eax
  movl %eax, 16(%edx)
  addl $0x1000, %eax
  movl %eax, 24(%edx)

  /* PDPT for the top 512 GiB: entries 510 and 511 map -2 GiB onto 0..2 GiB. */
  movl $(boot_pdpt_high - KERNEL_VMA), %edx
  movl $(boot_pd - KERNEL_VMA + 0x0003), %eax
  movl %eax, (510 * 8)(%edx)
  addl $0x1000, %eax
  movl %eax, (511 * 8)(%edx)

  movl $(boot_pml4 - KERNEL_VMA), %edx
  movl $(boot_pdpt_low - KERNEL_VMA + 0x0003), %eax
  movl %eax, 0(%edx)              /* identity, dropped once in the higher half */
  movl %eax, (256 * 8)(%edx)      /* direct map at 0xffff800000000000 */
  movl $(boot_pdpt_high - KERNEL_VMA + 0x0003), %eax
  movl %eax, (511 * 8)(%edx)

  movl %cr4, %eax
  orl $((1 << 5) | (1 << 7) | (1 << 9) | (1 << 10)), %eax   /* PAE, PGE, OSFXSR, OSXMMEXCPT */
  movl %eax, %cr4
  movl $(boot_pml4 - KERNEL_VMA), %eax
  movl %eax, %cr3
  movl $0xC0000080, %ecx          /* EFER: SYSCALL, long mode, no-execute */
  rdmsr
  orl $((1 << 0) | (1 << 8) | (1 << 11)), %eax
  wrmsr
  movl %cr0, %eax
  andl $~(1 << 2), %eax           /* EM off: SSE must work before any Swift code runs */
  orl $((1 << 31) | (1 << 16) | (1 << 1)), %eax   /* PG, WP, MP */
  movl %eax, %cr0

  lgdt (boot_gdt_pointer - KERNEL_VMA)
  ljmp $0x08, $start64_low

.code64
start64_low:
  movabsq $start64, %rax
  jmp *%rax

.text
start64:
  movw $0x10, %ax
  movw %ax, %ds
  movw %ax, %es
  movw %ax, %ss
  xorw %ax, %ax
  movw %ax, %fs
  movw %ax, %gs
  movabsq $kernel_stack_top, %rsp
  movl %edi, %edi
  movl %esi, %esi
  call kmain
1:
  hlt
  jmp 1b

.section .rodata
.p2align 4
boot_gdt_pointer:
  .word gdt_end - gdt_table - 1
  .long gdt_table - KERNEL_VMA    /* 32-bit base for the 32-bit lgdt; kmain reloads it high */

.data
/* The GDT. Selectors: 0x08 kernel code, 0x10 kernel data, 0x18 user data,
 * 0x20 user code (64-bit only: no 32-bit user code segment exists), 0x28 TSS
 * (filled by exo/arch/x86_64/Descriptors.swift). The order is the one SYSRET needs. */
.p2align 4
.globl gdt_table
gdt_table:
  .quad 0
  .quad 0x00af9a000000ffff
  .quad 0x00cf92000000ffff
  .quad 0x00cff2000000ffff
  .quad 0x00affa000000ffff
  .quad 0, 0
gdt_end:

.globl kernel_entry_tsc
.p2align 3
kernel_entry_tsc:
  .quad 0

.bss
.p2align 12
.globl boot_pml4
boot_pml4:       .skip 4096
boot_pdpt_low:   .skip 4096
boot_pdpt_high:  .skip 4096
.globl boot_pd
boot_pd:         .skip 4096 * 4
.globl kernel_stack_bottom, kernel_stack_top
kernel_stack_bottom:
  .skip 16384
kernel_stack_top:
.globl ist_stacks
ist_stacks:
  .skip 4096 * 3                  /* #DF, NMI, #MC each get their own stack (IST 1..3) */
