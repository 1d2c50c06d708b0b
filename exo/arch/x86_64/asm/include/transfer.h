/* What a protected control transfer reads and writes, one record per env,
 * shared by trap.S's assembly fast path and the Swift kernel: Swift's Env
 * keeps these fields here (exo/arch/x86_64/EnvTransfer.swift), never a copy,
 * so the two paths cannot drift. storage.S holds the array, indexed by env
 * id (record 0 stays free: no env 0); running_transfer points at the
 * running env's record, running_env at its Env.
 * TransferLayoutTests keeps the offsets below equal to the struct. */
#ifndef EXO_TRANSFER_H
#define EXO_TRANSFER_H

#define ENV_MAX 16                    /* Limits.maxEnvs */
#define ENV_STATE_RUNNABLE 1          /* EnvState.runnable's raw value */

#define T_ENV 0                       /* the Swift Env's address */
/* T_ID to T_SHARED_PAGE: in the order of trap.S's syscall_env_id and
 * upcall_* words, which a transfer copies as one block: upcall_shared is
 * the shared frame's kernel address when there is a handler, else
 * upcall_none (EnvTransfer.swift keeps it so). */
#define T_ID 8
#define T_UPCALL_SHARED 16
#define T_EXCEPTION_ENTRY 24          /* 0: no handler */
#define T_EXCEPTION_STACK 32
#define T_SHARED_PAGE 40              /* the shared page's user address */
#define T_STATE 48                    /* EnvState's raw value */
#define T_CR3 56                      /* the address space's root */
#define T_REGISTERS 64                /* the slot of the context that runs next */
#define T_FPU 72                      /* its FXSAVE area */
#define T_MAIN_REGISTERS 80
#define T_MAIN_FPU 88
#define T_ACTIVATION_REGISTERS 96
#define T_ACTIVATION_FPU 104
#define T_PCT_ENTRY 112               /* pct_listen: 0 when not listening */
#define T_PCT_STACK 120
#define T_PCT_CALLERS 128             /* a bit per env id */
#define T_SERVING 136                 /* the caller the activation serves, 0 none */
#define T_SERVING_ASYNC 144           /* 1: that caller sent (pct_send) */
#define T_WAITING_ON 152              /* the callee the main context waits on, 0 none */
#define T_SHARED_KERNEL 160           /* the shared frame's kernel address */
#define T_SIZE 168

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
  uint64_t env, id, upcall_shared, exception_entry, exception_stack, shared_page, state, cr3;
  uint64_t registers, fpu, main_registers, main_fpu, activation_registers, activation_fpu;
  uint64_t pct_entry, pct_stack, pct_callers;
  uint64_t serving, serving_async, waiting_on;
  uint64_t shared_kernel;
};

static inline uint64_t x86_upcall_none_address(void) { extern uint64_t upcall_none; return (uint64_t)&upcall_none; }

static inline struct env_transfer *x86_env_transfer(uint64_t id) {
  extern struct env_transfer env_transfers[];
  return &env_transfers[id];
}
static inline uint64_t x86_running_env(void) { extern uint64_t running_env; return running_env; }
static inline struct env_transfer *x86_running_transfer(void) {
  extern struct env_transfer *running_transfer;
  return running_transfer;
}
static inline void x86_set_running(struct env_transfer *t) {
  extern struct env_transfer *running_transfer;
  extern uint64_t running_env, syscall_env_id;
  running_transfer = t;
  running_env = t ? t->env : 0;
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
