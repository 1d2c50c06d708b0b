/* The machine edge of the exo kernel: x86_64 instructions as inline
 * functions, the trap frame layout shared with trap.S, and the static
 * storage the assembly reserves. Only exo/arch/x86_64 imports this. */
#ifndef EXO_X86_H
#define EXO_X86_H
#include <stdint.h>
#include "transfer.h"

/* Built by trap.S on every kernel entry, lowest address first. */
struct trap_frame {
  uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
  uint64_t vector, error;
  uint64_t rip, cs, rflags, rsp, ss;
};

/* A kernel call's result as SYSCALL's fast path returns it: RAX, RDX. */
struct exo_call_result { uint64_t status, value; };

/* FXSAVE area: 512 bytes, 16-byte aligned. */
struct fx_area { _Alignas(16) uint8_t bytes[512]; };

void exo_resume(const struct trap_frame *frame) __attribute__((noreturn));
void exo_sysret(const struct trap_frame *frame) __attribute__((noreturn));

static inline void x86_outb(uint16_t port, uint8_t value) { __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port)); }
static inline uint8_t x86_inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void x86_outw(uint16_t port, uint16_t value) { __asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port)); }
static inline uint16_t x86_inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void x86_outl(uint16_t port, uint32_t value) { __asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port)); }
static inline uint32_t x86_inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
/* Orders memory accesses around it for the compiler (x86 keeps stores in order
 * for the device): ring indices are published only after the ring's contents. */
static inline void x86_barrier(void) { __asm__ volatile("" : : : "memory"); }
static inline uint64_t x86_rdmsr(uint32_t msr) {
  uint32_t lo, hi; __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr)); return ((uint64_t)hi << 32) | lo;
}
static inline void x86_wrmsr(uint32_t msr, uint64_t v) { __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))); }
static inline uint64_t x86_rdtsc(void) { uint32_t lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((uint64_t)hi << 32) | lo; }
static inline uint64_t x86_read_cr2(void) { uint64_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline uint64_t x86_read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline void x86_write_cr3(uint64_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline uint64_t x86_read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void x86_write_cr4(uint64_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
static inline void x86_invlpg(uint64_t va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }
static inline void x86_hlt(void) { __asm__ volatile("hlt"); }
/* Interrupts on only for the halt: the tick that wakes it is taken in ring 0. */
static inline void x86_idle(void) { __asm__ volatile("sti; hlt; cli" : : : "memory"); }
static inline void x86_pause(void) { __asm__ volatile("pause" : : : "memory"); }
static inline void x86_fxsave(struct fx_area *a) { __asm__ volatile("fxsave64 %0" : "=m"(*a)); }
static inline void x86_fxrstor(const struct fx_area *a) { __asm__ volatile("fxrstor64 %0" : : "m"(*a)); }

struct __attribute__((packed)) x86_table_pointer { uint16_t limit; uint64_t base; };
static inline void x86_lgdt(uint64_t base, uint16_t limit) {
  struct x86_table_pointer p = { limit, base }; __asm__ volatile("lgdt %0" : : "m"(p));
}
static inline void x86_lidt(uint64_t base, uint16_t limit) {
  struct x86_table_pointer p = { limit, base }; __asm__ volatile("lidt %0" : : "m"(p));
}
static inline void x86_ltr(uint16_t selector) { __asm__ volatile("ltr %0" : : "r"(selector)); }

/* Addresses of what the assembly and the linker script define. */
#define X86_SYMBOL(fn, sym) static inline uint64_t fn(void) { extern char sym[]; return (uint64_t)sym; }
X86_SYMBOL(x86_gdt_address, gdt_table)
X86_SYMBOL(x86_vector_stubs_address, vector_stubs)
X86_SYMBOL(x86_syscall_entry_address, syscall_entry)
X86_SYMBOL(x86_syscall_compat_entry_address, syscall_compat_entry)
X86_SYMBOL(x86_kernel_stack_top, kernel_stack_top)
X86_SYMBOL(x86_ist_stacks_address, ist_stacks)
X86_SYMBOL(x86_boot_pml4_address, boot_pml4)
X86_SYMBOL(x86_boot_pd_address, boot_pd)
X86_SYMBOL(x86_kernel_phys_start, __kernel_phys_start)
X86_SYMBOL(x86_kernel_phys_end, __kernel_bss_end_phys)
X86_SYMBOL(x86_kernel_text_start, __kernel_text_start)
X86_SYMBOL(x86_kernel_text_end, __kernel_text_end)
X86_SYMBOL(x86_boot_arena_address, boot_arena)
X86_SYMBOL(x86_frame_owners_address, frame_owners)
X86_SYMBOL(x86_frame_free_stack_address, frame_free_stack)
/* Where the next entry from ring 3 pushes its frame: TSS.RSP0 itself (at
 * byte 4, unaligned), which SYSCALL's path reads too, so a switch stores it once. */
static inline uint64_t x86_entry_frame_top(void) {
  extern char tss_area[];
  uint64_t v;
  __builtin_memcpy(&v, tss_area + 4, 8);
  return v;
}
static inline void x86_set_entry_frame_top(uint64_t v) { extern char tss_area[]; __builtin_memcpy(tss_area + 4, &v, 8); }
static inline void x86_set_upcall(uint64_t shared, uint64_t entry, uint64_t stack, uint64_t argument) {
  extern uint64_t upcall_shared, upcall_entry, upcall_stack, upcall_argument, upcall_none;
  upcall_shared = shared ? shared : (uint64_t)&upcall_none; upcall_entry = entry; upcall_stack = stack; upcall_argument = argument;
}
static inline uint64_t x86_kernel_entry_tsc(void) { extern uint64_t kernel_entry_tsc; return kernel_entry_tsc; }
static inline uint64_t x86_interrupt_tsc(void) { extern uint64_t interrupt_tsc; return interrupt_tsc; }


X86_SYMBOL(x86_idt_address, idt_table)
X86_SYMBOL(x86_frame_generations_address, frame_generations)
X86_SYMBOL(x86_frame_uses_address, frame_uses)
X86_SYMBOL(x86_tss_address, tss_area)
X86_SYMBOL(x86_dma_area_address, dma_area)
#endif
