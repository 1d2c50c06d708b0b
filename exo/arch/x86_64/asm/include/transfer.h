/* What a protected control transfer reads and writes, one record per env,
 * shared by trap.S's assembly fast path and the Swift kernel: it is the
 * first stored property of Swift's Env (at the Env's own address, which the
 * kernel checks at boot), whose accessors (exo/arch/x86_64/EnvTransfer.swift)
 * read and write it, never a copy, so the two paths cannot drift.
 * env_records (storage.S) holds each env id's address, an always-free record
 * for an id with no env; running_env is the running env's.
 * TransferLayoutTests keeps the offsets below equal to the struct. */
#ifndef EXO_TRANSFER_H
#define EXO_TRANSFER_H

#define ENV_MAX 16                    /* Limits.maxEnvs */
#define ENV_STATE_RUNNABLE 1          /* EnvState.runnable's raw value */

/* T_ID to T_SHARED_PAGE: in the order of trap.S's syscall_env_id and
 * upcall_* words, which a transfer copies as one block: upcall_shared is
 * the shared frame's kernel address when there is a handler, else
 * upcall_none (EnvTransfer.swift keeps it so). */
#define T_ID 0
#define T_UPCALL_SHARED 8
#define T_EXCEPTION_ENTRY 16          /* 0: no handler */
#define T_EXCEPTION_STACK 24
#define T_SHARED_PAGE 32              /* the shared page's user address */
#define T_STATE 40                    /* EnvState's raw value */
#define T_CR3 48                      /* the address space's root */
#define T_REGISTERS 56                /* the slot of the context that runs next */
#define T_FPU 64                      /* its FXSAVE area */
#define T_MAIN_REGISTERS 72
#define T_MAIN_FPU 80
#define T_ACTIVATION_REGISTERS 88
#define T_ACTIVATION_FPU 96
#define T_PCT_ENTRY 104               /* pct_listen: 0 when not listening */
#define T_PCT_STACK 112
#define T_PCT_CALLERS 120             /* a bit per env id */
#define T_SERVING 128                 /* the caller the activation serves (0 none), with SERVING_ASYNC */
#define T_WAITING_ON 136              /* the callee the main context waits on, 0 none */
#define T_SHARED_KERNEL 144           /* the shared frame's kernel address */
#define T_SIZE 152

/* T_SERVING's flag for a caller that sent (pct_send): above every env id,
 * so the low byte is the id, and one store sets or clears both. */
#define SERVING_ASYNC 256

/* struct trap_frame (x86.h) as the fast path reads and writes it. */
#define TF_RBP 64
#define TF_RBX 104
#define TF_R12 24
#define TF_R13 16
#define TF_R14 8
#define TF_R15 0
#define TF_RAX 112
#define TF_RDX 88
#define TF_RIP 136
#define TF_RFLAGS 152
#define TF_RSP 160
#define TF_SIZE 176
#define TSS_RSP0 4

#ifndef __ASSEMBLER__
#include <stdint.h>

struct env_transfer {
  uint64_t id, upcall_shared, exception_entry, exception_stack, shared_page, state, cr3;
  uint64_t registers, fpu, main_registers, main_fpu, activation_registers, activation_fpu;
  uint64_t pct_entry, pct_stack, pct_callers;
  uint64_t serving, waiting_on;
  uint64_t shared_kernel;
};

static inline uint64_t x86_upcall_none_address(void) { extern uint64_t upcall_none; return (uint64_t)&upcall_none; }

/* Env id `id`'s record (0 < id <= ENV_MAX), or the free record when `t` is 0. */
static inline void x86_set_env_record(uint64_t id, struct env_transfer *t) {
  extern struct env_transfer *env_records[];
  extern struct env_transfer free_record;
  env_records[id] = t ? t : &free_record;
}
static inline uint64_t x86_turn_owner(void) { extern uint64_t turn_owner; return turn_owner; }
static inline void x86_set_turn_owner(uint64_t env) { extern uint64_t turn_owner; turn_owner = env; }
static inline uint64_t x86_running_env(void) { extern uint64_t running_env; return running_env; }
static inline void x86_set_running(struct env_transfer *t) {
  extern uint64_t running_env, syscall_env_id;
  running_env = (uint64_t)t;
  syscall_env_id = t ? t->id : 0;
}
/* Whose FP/SSE state is in the registers now (0: no one's). */
static inline uint64_t x86_fpu_loaded(void) { extern uint64_t fpu_loaded; return fpu_loaded; }
static inline void x86_set_fpu_loaded(uint64_t area) { extern uint64_t fpu_loaded; fpu_loaded = area; }
/* The FP image an activation starts from: zero registers, FNINIT's control
 * word, every SSE exception masked (UserMode fills it at boot). */
static inline uint64_t x86_fpu_clean_address(void) { extern char fpu_clean[]; return (uint64_t)fpu_clean; }
#endif
#endif
