/* The user side of the machine edge: the SYSCALL instruction, and the
 * symbols entry.S and the app's @main provide. Numbers and meanings come
 * from secure-bindings/KernelCall.swift; nothing here names a call. */
#ifndef EXO_USER_H
#define EXO_USER_H

/* The exception slot in the page an env shares with the kernel, as
 * secure-bindings/ExceptionSlot.swift defines it (a host test keeps the two
 * equal); exception.S reads and writes the slot through these. */
#define EXO_SLOT_UPCALLS_DISABLED 0
#define EXO_SLOT_VECTOR 8
#define EXO_SLOT_ERROR 16
#define EXO_SLOT_FAULT_ADDRESS 24
#define EXO_SLOT_RIP 32
#define EXO_SLOT_RFLAGS 40
#define EXO_SLOT_RSP 48
#define EXO_SLOT_GPRS 56 /* RAX RBX RCX RDX RSI RDI RBP R8..R15 */
#define EXO_SLOT_GPR_COUNT 15
#define EXO_SLOT_FPU 512 /* FXSAVE area, 16-byte aligned */
#define EXO_SLOT_SIZE 1024
/* Vectors below this are exceptions, each with its handler in exception.S's
 * table; the kernel's other upcalls are a slice start (0x100) and an event
 * delivery (0x101), made with every register saved in the slot. */
#define EXO_UPCALL_VECTORS 32
/* The System V red zone below RSP, which the resume must not touch. */
#define EXO_RED_ZONE 128
/* The stack the exception handler runs on (exception.S's .bss). */
#define EXO_EXCEPTION_STACK_SIZE (16 * 1024)

#ifndef __ASSEMBLER__
#include <stdint.h>

struct exo_call_result { uint64_t status, value; };

static inline struct exo_call_result exo_syscall(uint64_t number, uint64_t a0, uint64_t a1, uint64_t a2,
                                                 uint64_t a3, uint64_t a4, uint64_t a5) {
  register uint64_t r10 __asm__("r10") = a3;
  register uint64_t r8 __asm__("r8") = a4;
  register uint64_t r9 __asm__("r9") = a5;
  uint64_t status = number, value = a2;
  __asm__ volatile("syscall"
                   : "+a"(status), "+d"(value), "+D"(a0), "+S"(a1), "+r"(r10), "+r"(r8), "+r"(r9)
                   :
                   : "rcx", "r11", "memory");
  struct exo_call_result r = { status, value };
  return r;
}

/* A call of at most three arguments whose kernel side reads no more (map,
 * map_table, map_batch, net_bind): R10, R8 and R9 are left as they are
 * rather than zeroed, and given up like RCX and R11. */
static inline struct exo_call_result exo_syscall3(uint64_t number, uint64_t a0, uint64_t a1, uint64_t a2) {
  uint64_t status = number, value = a2;
  __asm__ volatile("syscall"
                   : "+a"(status), "+d"(value), "+D"(a0), "+S"(a1)
                   :
                   : "rcx", "r11", "r8", "r9", "r10", "memory");
  struct exo_call_result r = { status, value };
  return r;
}

/* What the hostile apps need to try: each must trap in ring 3. */
static inline void exo_try_outb(uint16_t port, uint8_t value) { __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port)); }
static inline void exo_try_cli(void) { __asm__ volatile("cli"); }
static inline uint64_t exo_try_popf_iopl3(void) {
  uint64_t flags;
  __asm__ volatile("pushfq; orq $0x3000, (%%rsp); popfq; pushfq; popq %0" : "=r"(flags) : : "memory", "cc");
  return flags;
}
static inline void exo_try_ud2(void) { __asm__ volatile("ud2"); }
static inline uint64_t exo_try_load(uint64_t address) { return *(volatile uint64_t *)address; }
static inline uint64_t exo_try_divide(uint64_t a, uint64_t b) {
  uint64_t q, r; __asm__ volatile("divq %4" : "=a"(q), "=d"(r) : "a"(a), "d"(0), "r"(b)); return q;
}

static inline uint64_t exo_heap_arena(void) { extern char exo_heap_storage[]; return (uint64_t)exo_heap_storage; }
#endif /* __ASSEMBLER__ */
/* The heap's first arena (entry.S's .bss): what it carves before it grows
 * onto pages it maps itself (runtime/HeapFrames.swift). */
#define EXO_HEAP_ARENA_SIZE (64 * 1024)
#ifndef __ASSEMBLER__

/* The time-stamp counter; under TCG with -icount it counts guest instructions. */
static inline uint64_t exo_rdtsc(void) {
  uint32_t low, high;
  __asm__ volatile("rdtsc" : "=a"(low), "=d"(high) : : "memory");
  return (uint64_t)high << 32 | low;
}

/* exception.S: the upcall entry the kernel enters, and its stack. */
static inline uint64_t exo_exception_entry_address(void) { extern char exo_exception_entry[]; return (uint64_t)exo_exception_entry; }
static inline uint64_t exo_exception_stack_top(void) {
  extern char exo_exception_stack[];
  return (uint64_t)exo_exception_stack + EXO_EXCEPTION_STACK_SIZE;
}

/* exception.S's table of handlers, one per exception vector, each called
 * with the shared page and returning true when it resolved the exception;
 * exo_exception_dispatch (the app's closure) is the default. */
typedef _Bool (*exo_exception_handler)(void *page);
static inline void exo_exception_handler_set(uint64_t vector, exo_exception_handler handler) {
  extern exo_exception_handler exo_exception_handlers[EXO_UPCALL_VECTORS], exo_exception_default;
  exo_exception_handlers[vector] = handler ? handler : exo_exception_default;
}
static inline void exo_exception_page_set(uint64_t page) { extern uint64_t exo_exception_page; exo_exception_page = page; }
static inline uint64_t exo_exception_count_read(void) { extern volatile uint64_t exo_exception_count; return exo_exception_count; }

/* A volatile 64-bit load and store: a read of the page-table view, a touch of a page. */
static inline uint64_t exo_load64(uint64_t address) { return *(volatile uint64_t *)address; }
static inline void exo_store64(uint64_t address, uint64_t value) { *(volatile uint64_t *)address = value; }

#endif /* __ASSEMBLER__ */

/* switch.S: the user-level thread switch. It pushes RBP RBX R12-R15 and then
 * the thread's depth inside the thread library (exo_thread_critical); the
 * saved RSP points at that depth word, and a `ret` follows the pops. A new
 * thread's stack holds the same frame, returning to exo_thread_trampoline.
 * No FP control words: they are env-wide (switch.S says why). Each thread's
 * saved RSP is in switch.S's own array, indexed by the thread's slot, so
 * the switch takes slots and reaches both RSPs at fixed addresses. */
#define EXO_SWITCH_FRAME_WORDS 8 /* the depth, 6 GPRs, the return address */
#define EXO_THREAD_CAPACITY 64 /* slots in the thread table */
#ifndef __ASSEMBLER__
/* Saves the running thread (slot `from`) and resumes slot `to`: both below
 * EXO_THREAD_CAPACITY, `to` holding a frame. */
void exo_thread_switch(long from, long to);
/* The same, leaving the caller's section of the thread library (depth - 1)
 * for the thread it switches away from: its caller's last act. */
void exo_thread_switch_leave(long from, long to);
/* Each slot's saved RSP while its thread is not running. */
static inline uint64_t *exo_thread_saved_rsp_slots(void) { extern uint64_t exo_thread_saved_rsp[]; return exo_thread_saved_rsp; }
static inline uint64_t exo_thread_trampoline_address(void) { extern char exo_thread_trampoline[]; return (uint64_t)exo_thread_trampoline; }
/* Preemption (switch.S): leave the exception stack for the next thread's
 * frame and clear the upcalls-disabled word; a preempted thread's frame
 * returns to exo_thread_resume_preempted; RIP in [start, end) is never
 * preempted. */
void exo_thread_preempt_switch(void *shared_page, uint64_t next_rsp) __attribute__((noreturn));
static inline uint64_t exo_thread_resume_preempted_address(void) { extern char exo_thread_resume_preempted[]; return (uint64_t)exo_thread_resume_preempted; }
static inline int exo_thread_code_contains(uint64_t rip) {
  extern char exo_thread_code_start[], exo_thread_code_end[];
  return rip >= (uint64_t)exo_thread_code_start && rip < (uint64_t)exo_thread_code_end;
}
/* The running thread's depth inside the thread library. The compiler
 * barriers keep the library's memory accesses between enter and leave,
 * where a slice-start upcall will not preempt the thread. */
static inline uint64_t exo_thread_critical_depth(void) { extern volatile uint64_t exo_thread_critical; return exo_thread_critical; }
static inline void exo_thread_critical_set(uint64_t depth) {
  extern volatile uint64_t exo_thread_critical;
  __asm__ volatile("" ::: "memory");
  exo_thread_critical = depth;
  __asm__ volatile("" ::: "memory");
}
static inline void exo_thread_critical_enter(void) {
  extern volatile uint64_t exo_thread_critical;
  exo_thread_critical = exo_thread_critical + 1;
  __asm__ volatile("" ::: "memory");
}
static inline void exo_thread_critical_leave(void) {
  extern volatile uint64_t exo_thread_critical;
  __asm__ volatile("" ::: "memory");
  exo_thread_critical = exo_thread_critical - 1;
}
#endif

/* pct.S: the entry of protected control transfers and its activation stack,
 * the reply it makes (KernelCall.pctReply: the one call number spelled here,
 * a host test keeps it equal), and the caller's stub. */
#define EXO_PCT_STACK_SIZE (16 * 1024)
#define EXO_PCT_REPLY 16
#define EXO_PROBE_WORD 0x9be
#define EXO_PROBE_REPLY 0x600d
#define EXO_PROBE_CALLEE_PATTERN 0x5a5b5c5d5e5f5051
#define EXO_PROBE_CALLER_PATTERN 0xc1c2c3c4c5c6c7c8
#define EXO_PROBE_AREA_SIZE 640
#ifndef __ASSEMBLER__
/* pct_call or pct_send (`number`): only the registers the call uses. The
 * kernel returns zero in RSI, RDI and R8-R10 and keeps RBX, RBP, R12-R15. */
static inline struct exo_call_result exo_pct_call(uint64_t number, uint64_t env, uint64_t w0, uint64_t w1,
                                                  uint64_t w2) {
  register uint64_t r10 __asm__("r10") = w2;
  register uint64_t r8 __asm__("r8");
  register uint64_t r9 __asm__("r9");
  uint64_t status = number, value = w1;
  __asm__ volatile("syscall"
                   : "+a"(status), "+d"(value), "+D"(env), "+S"(w0), "+r"(r10), "=r"(r8), "=r"(r9)
                   :
                   : "rcx", "r11", "memory");
  struct exo_call_result r = { status, value };
  return r;
}
/* Console.swift's count of buffered bytes, kept where pct.S's entry reads it. */
static inline int64_t exo_console_count(void) { extern int64_t exo_console_pending; return exo_console_pending; }
static inline void exo_set_console_count(int64_t n) { extern int64_t exo_console_pending; exo_console_pending = n; }
/* pct_probe.S, apps/pct's probe of what a transfer lets through: a call
 * whose first word is EXO_PROBE_WORD, the callee's and the caller's
 * register patterns, the word the probe replies, and the areas it fills
 * (struct exo_probe_registers: RAX RBX RCX RDX RSI RDI RBP RSP R8-R15, then
 * the FXSAVE image). */
struct exo_probe_registers { uint64_t general[16]; _Alignas(16) uint8_t fx[512]; };
struct exo_call_result exo_pct_probe_call(uint64_t env, uint64_t number);
static inline uint64_t exo_pct_probe_entry_address(void) { extern char exo_pct_probe_entry[]; return (uint64_t)exo_pct_probe_entry; }
static inline const struct exo_probe_registers *exo_probe_area(int which) {
  extern struct exo_probe_registers exo_probe_callee_seen, exo_probe_caller_sent, exo_probe_caller_back;
  return which == 0 ? &exo_probe_callee_seen : which == 1 ? &exo_probe_caller_sent : &exo_probe_caller_back;
}
/* The activation's handler, which pct.S's entry calls (set by Transfers.listen). */
typedef uint64_t (*exo_pct_handler_t)(uint64_t caller, uint64_t w0, uint64_t w1, uint64_t w2);
static inline void exo_set_pct_handler(exo_pct_handler_t h) { extern exo_pct_handler_t exo_pct_handler; exo_pct_handler = h; }
static inline uint64_t exo_pct_entry_address(void) { extern char exo_pct_entry[]; return (uint64_t)exo_pct_entry; }
static inline uint64_t exo_pct_stack_top(void) {
  extern char exo_pct_stack[];
  return (uint64_t)exo_pct_stack + EXO_PCT_STACK_SIZE;
}
#endif

#ifdef __ASSEMBLER__
/* RSP at an exception.S-style resume frame (R15 lowest, RAX, RFLAGS, RIP):
 * restore it all and return to RIP with RSP back above the red zone. Used
 * by the exception resume and by a preempted thread's resume. */
.macro EXO_RESUME_INTERRUPTED
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %r11
  popq %r10
  popq %r9
  popq %r8
  popq %rbp
  popq %rdi
  popq %rsi
  popq %rdx
  popq %rcx
  popq %rbx
  popq %rax
  popfq
  retq $EXO_RED_ZONE
.endm
#endif
#endif
