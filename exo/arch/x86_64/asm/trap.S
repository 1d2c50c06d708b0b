/* Kernel entry and exit: the 256 IDT vector stubs, the SYSCALL entry with
 * its fast path, exo_resume (IRETQ, every way back to ring 3) and
 * exo_sysret (a kernel call's own return). Every entry builds a
 * struct trap_frame (include/x86.h) on the kernel stack and calls
 * exo_trap(frame), which never returns: it ends in exo_resume. */

#include "include/transfer.h"

.set USER_CS, 0x23
.set USER_DS, 0x1b
.set SYSCALL_VECTOR, 256          /* a pseudo-vector past the IDT: "came in by SYSCALL" */
.set ENV_SELF_CALL, 3             /* KernelCall.envSelf (a host test keeps them equal) */
.set USER_FLAGS, 0x240dd5         /* UserMode.userFlags: CF PF AF ZF SF TF DF OF AC ID */
.set USER_TOP, 0x800000000000     /* UserSpace.top: the first non-canonical address */
/* The transfers with their own lean entry (KernelCall.pctCall, .pctSend, .pctReply). */
.set PCT_CALL, 15
.set PCT_SEND, 28
.set PCT_REPLY, 16
/* Calls that go to exo_fast_call (bit n: KernelCall n): console_write,
 * frame_alloc, frame_free, map, map_table, unmap, protect, map_batch,
 * set_exception_handler, frame_grant, frame_revoke, pct_listen,
 * event_listen, event_signal, irq_bind, console_read, timer_arm,
 * timer_cancel. FastPathDriftTests keeps it equal to the test's list of
 * calls that neither switch envs nor upcall their caller. */
.set FAST_CALLS, 0xc367ff1
/* `map`'s and `protect`'s own paths (map_fast, protect_fast): KernelCall.map
 * and .protect, and what they check against:
 * Limits.maxFrames (storage.S sizes the tables by it), FrameBindings' use
 * word (bit 31: a page table; the low 16 bits: the map count), the first
 * mappable address (UserSpace.lowest), the page-table view's PML4 slot
 * (UserSpace.pageTableViewSlot) and the direct map (Machine.directMapBase). */
.set MAP_CALL, 6
.set PROTECT_CALL, 9
.set MAX_FRAMES, 262144
.set USER_LOWEST, 0x10000
.set VIEW_SLOT, 254
.set DIRECT_MAP, 0xffff800000000000
/* PageTableEntry.leaf's bits for each PageRights (write 1, execute 2):
 * present and user, writable with write, no-execute without execute. */
.set LEAF_READ, 0x8000000000000005
.set LEAF_WRITE, 0x8000000000000007
.set LEAF_EXECUTE, 0x5
.set LEAF_WRITE_EXECUTE, 0x7

.macro SAVE_REGISTERS
  pushq %rax
  pushq %rbx
  pushq %rcx
  pushq %rdx
  SAVE_REGISTERS_AFTER_RDX
.endm

/* trap_frame's registers back, RSP at the frame; RCX and R11 are popped
 * (`popq`) or left behind (`skip`: SYSRET loads them from RIP and RFLAGS). */
.macro RESTORE_REGISTERS rcx_r11
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  .ifc \rcx_r11, popq
  popq %r11
  .else
  addq $8, %rsp
  .endif
  popq %r10
  popq %r9
  popq %r8
  popq %rbp
  popq %rdi
  popq %rsi
  popq %rdx
  .ifc \rcx_r11, popq
  popq %rcx
  .else
  addq $8, %rsp
  .endif
  popq %rbx
  popq %rax
.endm

/* The rest of trap_frame's order, for a path that has pushed RAX..RDX itself. */
.macro SAVE_REGISTERS_AFTER_RDX
  pushq %rsi
  pushq %rdi
  pushq %rbp
  pushq %r8
  pushq %r9
  pushq %r10
  pushq %r11
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
.endm

.text
/* Stub n sits at vector_stubs + 16 * n. Vectors whose exceptions push an
 * error code (8, 10-14, 17, 21, 29, 30) push none of their own. */
.p2align 4
.globl vector_stubs
vector_stubs:
.set vector, 0
.rept 256
  .p2align 4
  .if (vector == 8) || ((vector >= 10) && (vector <= 14)) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)
  .else
  pushq $0
  .endif
  pushq $vector
  .if (vector < 32) && (vector != 2) && (vector != 8) && (vector != 18)
  jmp exception_common
  .else
  jmp trap_common
  .endif
  .set vector, vector + 1
.endr

/* The exception upcall's fast path [Engler95: exception dispatch in 18
 * instructions]. For an exception in ring 3 whose env has a handler and has
 * upcalls enabled, write what the upcall clobbers into the shared page
 * (trap, CR2, RIP, RFLAGS, RSP, and RAX, RCX, RDI, R11, the registers used
 * here and by SYSRET), set the disabled word, and SYSRET to the handler
 * with RAX = the vector and RDI = the page: every other register is still
 * the env's own, and the handler's entry saves what it needs. The slot is
 * filled by pops: each `popq off(%rax)` moves one word of the CPU's frame
 * (on the kernel side, RSP at it) into the shared page (through the direct
 * map) in one instruction. IF is clear (an interrupt gate) and NMI, #DF and #MC have
 * their own stacks (IST), so nothing else pushes on the frame being popped,
 * nor on the user stack that RSP holds just before SYSRET; the page is pinned while it is
 * registered, and the entry was checked canonical and in the user half
 * when it was (SYSRET to a non-canonical RIP faults in ring 0 on Intel).
 * Any other case takes the full path, with the registers pushed in the
 * same order trap_common pushes them. exo/Trap.swift (deliverException) is
 * the same upcall in Swift; upcall_* below describe the running env. */
exception_common:
  testb $3, 24(%rsp)              /* CS: from ring 0 it is a kernel fault */
  jz trap_common
  pushq %rax                      /* trap_common's first register */
  movq upcall_shared(%rip), %rax  /* the shared page through the direct map, or upcall_none */
  cmpq $0, (%rax)
  jne 1f                          /* no handler, or a fault in the handler: the full path kills */
  testb $0x80, 31(%rsp)
  jnz 1f                          /* RIP in the kernel half: SYSCALL as nested KVM delivers it */
  /* Offsets: RAX 0, vector 8, error 16, RIP 24, CS 32, RFLAGS 40, RSP 48. */
  movq %rcx, 72(%rax)             /* RCX, general register 2 */
  movq %rdi, 96(%rax)             /* RDI, 5 */
  movq %r11, 136(%rax)            /* R11, 10 */
  popq 56(%rax)                   /* RAX, general register 0 */
  popq 8(%rax)                    /* ExceptionSlot.vector */
  popq 16(%rax)                   /* error */
  popq 32(%rax)                   /* rip */
  popq %rcx                       /* CS, not kept */
  popq 40(%rax)                   /* rflags */
  popq 48(%rax)                   /* rsp */
  movq %cr2, %rcx
  movq %rcx, 24(%rax)             /* faultAddress */
  movq $1, (%rax)                 /* upcalls disabled */
  movq 8(%rax), %rax              /* the vector, for the entry */
  movq upcall_entry(%rip), %rcx   /* SYSRET's RIP */
  movl $0x202, %r11d              /* SYSRET's RFLAGS: IF only, DF clear, no IOPL */
  movq upcall_stack(%rip), %rsp
  movq upcall_argument(%rip), %rdi
  sysretq
1:
  pushq %rbx                      /* RAX is in place: the rest of trap_common's order */
  pushq %rcx
  pushq %rdx
  SAVE_REGISTERS_AFTER_RDX
  jmp trap_saved

/* From ring 3 the CPU pushed the frame at TSS.RSP0, the top of the running
 * env's register slot, so the registers land there; then the kernel stack
 * takes over. A trap in ring 0 stays on the stack it came in on. */
trap_common:
  SAVE_REGISTERS
  rdtsc                           /* when the interrupt came in: event stamps */
  shlq $32, %rdx
  orq %rdx, %rax
  movq %rax, interrupt_tsc(%rip)
trap_saved:
  cld
  movq %rsp, %rdi
  testb $3, 144(%rsp)             /* CS of the trapped code */
  jz 1f
  leaq kernel_stack_top(%rip), %rsp
1:
  call exo_trap
  ud2

/* SYSCALL: RCX = user RIP, R11 = user RFLAGS; FMASK has cleared IF, DF, TF,
 * AC, NT and IOPL. One CPU and one kernel stack, which is empty whenever
 * user code runs, so no swapgs is needed. Builds the same frame as an
 * interrupt, in the running env's register slot, with `vector` in the
 * vector slot. */
/* The part of the frame an interrupt's CPU would push, and the vector,
 * into the running env's register slot; RSP ends at the vector slot. */
.macro SYSCALL_FRAME vector
  movq %rsp, syscall_user_rsp(%rip)
  movq tss_area+TSS_RSP0(%rip), %rsp /* the running env's register slot */
  pushq $USER_DS
  pushq syscall_user_rsp(%rip)
  pushq %r11
  pushq $USER_CS
  pushq %rcx
  pushq $0
  pushq $\vector
.endm

.macro SYSCALL_ENTRY vector, handler
  SYSCALL_FRAME \vector
  SAVE_REGISTERS
  movq %rsp, %rdi
  leaq kernel_stack_top(%rip), %rsp
  call \handler
  ud2
.endm

.p2align 4
.globl syscall_entry
syscall_entry:
  /* Every call goes where call_entries sends its number, in one jump:
   * env_self to its answer below; the transfers to their own entries
   * (pct_call_entry and the others), which check the rest themselves; map
   * and protect to their paths in registers alone (map_fast, protect_fast);
   * the other calls of the general fast path to fast_checked; and the rest,
   * and any number past 63, to the full save. RCX came from SYSCALL in the
   * user half, so it is at most USER_TOP + 1: bit 47 set is the only
   * non-canonical case, and SYSRET to a non-canonical RCX faults in ring 0
   * on Intel CPUs, so every fast path sends it to the full path, which
   * returns by IRETQ. */
  cmpq $63, %rax
  ja full_call
  jmp *call_entries(, %rax, 8)
env_self_fast:
  /* env_self is answered from a word the kernel keeps current
   * (syscall_env_id), touching only what the ABI gives up (RAX, RDX, RCX,
   * R11) and no stack. */
  btq $47, %rcx
  jc full_call
  movq syscall_env_id(%rip), %rdx
  xorl %eax, %eax
  andq $USER_FLAGS, %r11
  orq $0x200, %r11                 /* IF; never IOPL */
  sysretq
map_checked:
  btq $47, %rcx
  jc full_call
  jmp map_fast
protect_checked:
  btq $47, %rcx
  jc full_call
  jmp protect_fast
  /* The general fast path, for every call that returns to its caller with
   * nothing switched and no upcall (FAST_CALLS): no register frame at all.
   * The Swift handler preserves RBX, RBP and R12-R15 itself (System V), the
   * ABI gives up RAX, RDX, RCX, R11 and the argument registers, and a call
   * that neither switches envs nor upcalls never reads the env's saved
   * registers, so the slot keeps its last full save. IF is clear until
   * SYSRET: no interrupt can see the half-built state. A call that may
   * switch or upcall (exit, yield, pct_*, event_wait, quota_lower, the
   * network's) takes the full save below. */
fast_checked:
  btq $47, %rcx
  jc full_call
fast_call:                         /* the checks above passed; RAX = the call */
  movq %rsp, syscall_user_rsp(%rip)
  leaq kernel_stack_top(%rip), %rsp
  pushq %rcx                       /* user RIP */
  pushq %r11                       /* user RFLAGS; RSP stays 16-byte aligned for the call */
  movq %r10, %rcx                  /* a3: the C ABI's fourth argument */
  movq %rax, %r8                   /* the call number, fifth */
  call exo_fast_call               /* status in RAX, value in RDX */
call_return:                       /* RAX, RDX: the result; the kernel stack: RIP, RFLAGS */
  popq %r11
  popq %rcx
  /* What the Swift code left in the scratch registers is the kernel's:
   * none of it goes back to ring 3. */
  xorl %esi, %esi
  xorl %edi, %edi
  xorl %r8d, %r8d
  xorl %r9d, %r9d
  xorl %r10d, %r10d
  andq $USER_FLAGS, %r11
  orq $0x200, %r11                 /* IF; never IOPL */
  movq syscall_user_rsp(%rip), %rsp
  sysretq
full_call:
  SYSCALL_ENTRY SYSCALL_VECTOR, exo_syscall

/* What map_fast and protect_fast check of RDI (the address) and RDX (the
 * rights): a page-aligned user address at or above UserSpace.lowest and
 * outside the page-table view (R9 = its PML4 index), and rights bits
 * PageRights defines. Clobbers RAX; jumps to \slow on any failure. */
.macro USER_PAGE_AND_RIGHTS slow
  /* Rotated right by 12, RDI less the lowest address is its page number
   * from there when it is page-aligned, and at least 2^52 (an offset bit
   * lands in bits 52-63) when it is not; below the lowest it wraps to as
   * much. So one unsigned compare with the user half's page count checks
   * alignment and both bounds. */
  leaq -USER_LOWEST(%rdi), %rax
  rorq $12, %rax
  cmpq user_page_count(%rip), %rax
  jae \slow                        /* unaligned, below UserSpace.lowest or past the user half */
  movq %rdi, %r9
  shrq $39, %r9                    /* the PML4 index: below 256 in the user half */
  cmpl $VIEW_SLOT, %r9d
  je \slow                         /* the page-table view */
  cmpq $3, %rdx
  ja \slow                         /* a rights bit PageRights does not define */
.endm

/* The walk from the running env's PML4 (CR3: the calling env's own tables,
 * by construction) to the level-1 entry for RDI, each table through the
 * direct map: the entry is at (R10, R9, 8) (the level-1 table's kernel
 * address and RDI's index in it), RAX = the direct map's base; R9 holds
 * the PML4 index on entry. An entry's address bits OR the direct
 * map's base, then AND off the flags, is the next table's kernel address
 * (frames sit below 1 GiB, so bits 47-63 are the base's). A missing table
 * jumps to \slow. */
.macro WALK_TO_LEAF slow
  movabsq $DIRECT_MAP, %rax
  movq %cr3, %r10
  andq $-4096, %r10                /* CR3's flag bits */
  orq %rax, %r10
  .irp shift, 30, 21, 12
  movq (%r10, %r9, 8), %r10        /* the entry covering RDI in this table */
  testb $1, %r10b
  jz \slow
  orq %rax, %r10
  andq $-4096, %r10
  movq %rdi, %r9
  shrq $\shift, %r9
  andl $511, %r9d
  .endr
.endm

/* The end of map_fast and protect_fast: success, value 0, and no kernel
 * address left in a register (R8 holds the new leaf entry, which the env
 * reads through its page-table view anyway; R9 an index of its address). */
.macro FAST_SUCCESS
  xorl %eax, %eax
  xorl %edx, %edx
  xorl %r10d, %r10d
  andq $USER_FLAGS, %r11
  orq $0x200, %r11                 /* IF; never IOPL */
  sysretq
.endm

/* `map`'s common case, the fault round trip's kernel half, in registers
 * alone: a caller's own frame (a current capability, neither a page table
 * nor at its map count's limit) at a page-aligned user address outside the
 * page-table view whose tables exist and whose leaf is empty. Anything else
 * (a refusal, a grant, a missing table) goes to the general path, whose
 * MemoryCalls.map makes the same checks again and says which failed; so
 * this path only ever accepts what that one would. RDI = address, RSI =
 * capability, RDX = rights; it reads them and writes none of them before
 * it may still fall back, and leaves RCX and R11 (the return) alone. No
 * stack: IF is clear, NMI, #DF and #MC have their own (IST), and no load
 * here can fault: the frame tables are indexed below MAX_FRAMES, and every
 * table address comes from an entry the kernel wrote (a frame below 1 GiB,
 * inside the direct map). */
map_fast:
  USER_PAGE_AND_RIGHTS map_slow
  movq %rsi, %r8
  shrq $16, %r8                    /* the capability's frame */
  cmpq $MAX_FRAMES, %r8
  jae map_slow
  cmpw %si, frame_generations(, %r8, 2)
  jne map_slow                     /* a stale generation */
  movzwl frame_owners(, %r8, 2), %eax
  cmpq syscall_env_id(%rip), %rax
  jne map_slow                     /* not the caller's own (a grant: the general path) */
  testb $0x80, frame_uses + 3(, %r8, 4)
  jnz map_slow                     /* a page-table frame (the use word's bit 31) */
  cmpw $0xffff, frame_uses(, %r8, 4)
  je map_slow                      /* mapped as often as the count holds */
  WALK_TO_LEAF map_slow            /* need_table: the general path names the level */
  testb $1, (%r10, %r9, 8)
  jnz map_slow                     /* already_mapped */
  /* Every check passed: act. The leaf was not present, so no TLB holds it. */
  incl frame_uses(, %r8, 4)        /* FrameBindings.noteMapped */
  shlq $12, %r8
  orq leaf_bits(, %rdx, 8), %r8
  movq %r8, (%r10, %r9, 8)
  FAST_SUCCESS
map_slow:
  movl $MAP_CALL, %eax
  jmp fast_call

/* `protect` of one page (prot1, and every trap that unprotects the page
 * that faulted), as map_fast: RDI = address, RSI = pages, RDX = rights.
 * Only a present page whose frame the caller owns; more pages, a grant
 * (whose rights bound the new ones), a kernel frame or anything refused
 * goes to the general path, MemoryCalls.protect. The entry is rewritten
 * from the frame and the rights, as that one writes it, and the page's TLB
 * entry dropped. */
protect_fast:
  cmpq $1, %rsi
  jne protect_slow                 /* 0 or many pages */
  USER_PAGE_AND_RIGHTS protect_slow
  WALK_TO_LEAF protect_slow
  movq (%r10, %r9, 8), %r8
  testb $1, %r8b
  jz protect_slow                  /* not_mapped */
  shlq $12, %r8
  shrq $24, %r8                    /* the entry's frame number (bits 12-51) */
  cmpq $MAX_FRAMES, %r8
  jae protect_slow
  movzwl frame_owners(, %r8, 2), %eax
  cmpq syscall_env_id(%rip), %rax
  jne protect_slow                 /* not the caller's own: a grant bounds the rights */
  shlq $12, %r8
  orq leaf_bits(, %rdx, 8), %r8
  movq %r8, (%r10, %r9, 8)
  invlpg (%rdi)
  FAST_SUCCESS
protect_slow:
  movl $PROTECT_CALL, %eax
  jmp fast_call

/* The transfers' fast path, wholly in assembly for the common case: a call
 * from a main context to a runnable env that listens, allows the caller and
 * serves no one; a reply from an activation serving a synchronous call
 * whose caller waits on it, or a send whose sender owns the turn. Every
 * check is one ControlTransfer.swift makes
 * (any other case, refusals included, takes the Swift path below, which
 * makes them all again), and the state it changes is the same, in the
 * records both share (include/transfer.h). The callee runs on the caller's
 * turn, so the slice timer is left as it is.
 *
 * Registers: the callee starts with the caller's id in RDI, the three words
 * in RSI, RDX and R10, its entry in RCX and its RFLAGS in R11 (SYSRET's),
 * its stack in RSP, and zero in every other one. The caller gets back RBX,
 * RBP, R12-R15, RSP, RIP and RFLAGS as it called, status 0 in RAX, the word
 * in RDX (0 after a send), RCX and R11 as SYSRET sets them from its RIP
 * and RFLAGS, and zero in the other scratch registers (apps/pct's hostile
 * boot checks both sides byte for byte).
 *
 * FP/SSE: the caller's state goes into its main FP area (FXSAVE) and the
 * callee starts from the clean image (FXRSTOR fpu_clean); the reply
 * restores the caller's area and drops the activation's. So neither side
 * sees the other's registers, the caller keeps its MXCSR and control word,
 * and the caller's area is valid for every slow way back (a preemption
 * inside the activation, the callee's exit, a send that outlasts a turn).
 *
 * Checks, with R8 = the caller's record, R9 = the callee's; RAX is free
 * (each refusal path sets the call number again). */
.macro PCT_CALL_FAST async, slow
  btq $47, %rcx
  jc full_call                     /* non-canonical RIP: the full path, IRETQ */
  movq running_env(%rip), %r8
  movq T_MAIN_REGISTERS(%r8), %rax
  cmpq %rax, T_REGISTERS(%r8)
  jne \slow                        /* a call from an activation: busy */
  /* RAX is the slot every way on from here saves RBX into (the Swift path
   * saves it there too), which frees RBX for the caller's id. */
  movq %rbx, TF_RBX(%rax)
  cmpq $ENV_MAX, %rdi
  ja \slow                         /* past the table */
  movq env_records(,%rdi,8), %r9   /* the free record for an id with no env */
  cmpq %r9, %r8
  je \slow                         /* itself */
  cmpq $ENV_STATE_RUNNABLE, T_STATE(%r9)
  jne \slow
  cmpq $0, T_PCT_ENTRY(%r9)
  je \slow                         /* not listening */
  movq T_ID(%r8), %rbx
  btq %rbx, T_PCT_CALLERS(%r9)
  jnc 8f                           /* not among its callers (ids are at most ENV_MAX) */
  cmpq $0, T_SERVING(%r9)
  je 9f                            /* not busy */
8:
  movq TF_RBX(%rax), %rbx          /* the caller's own, for the Swift path */
  jmp \slow
9:
  /* The caller's context into its main slot: what the ABI keeps across a
   * call. The scratch registers keep the env's own values from its last
   * full save, as on the Swift path. */
  movq %rcx, TF_RIP(%rax)
  movq %r11, TF_RFLAGS(%rax)
  movq %rsp, TF_RSP(%rax)
  movq %rbp, TF_RBP(%rax)
  movq %r12, TF_R12(%rax)
  movq %r13, TF_R13(%rax)
  movq %r14, TF_R14(%rax)
  movq %r15, TF_R15(%rax)
  .if \async
  movq $0, TF_RAX(%rax)            /* the send's result, for when it runs again */
  movq $0, TF_RDX(%rax)
  .else
  movq %rdi, T_WAITING_ON(%r8)
  .endif
  movq %rbx, %rdi                  /* the callee's first word: the caller */
  .if \async
  orq $SERVING_ASYNC, %rbx
  .endif
  movq %rbx, T_SERVING(%r9)
  movq T_ACTIVATION_REGISTERS(%r9), %rax
  movq %rax, T_REGISTERS(%r9)
  movq T_ACTIVATION_FPU(%r9), %rbx
  movq %rbx, T_FPU(%r9)
  movq T_MAIN_FPU(%r8), %rcx
  fxsave64 (%rcx)
  movq %rbx, fpu_loaded(%rip)
  addq $TF_SIZE, %rax
  ENTER_RECORD %r9, %rax, %rbx     /* RSI and RDI hold words: no MOVSQ (it would save none) */
  fxrstor64 fpu_clean(%rip)
  movq T_PCT_ENTRY(%r9), %rcx
  movq T_PCT_STACK(%r9), %rsp
  movl $0x202, %r11d               /* IF only */
  xorl %eax, %eax
  xorl %ebx, %ebx
  xorl %ebp, %ebp
  xorl %r8d, %r8d
  xorl %r9d, %r9d
  xorl %r12d, %r12d
  xorl %r13d, %r13d
  xorl %r14d, %r14d
  xorl %r15d, %r15d
  sysretq
.endm

/* Makes \record's env the running one, its slot top \top the entry stack
 * (TSS.RSP0, which SYSCALL_FRAME reads too): its Env (= record) for Swift, its id for
 * env_self and its exception upcall for exception_common (the record's
 * T_ID..T_SHARED_PAGE onto syscall_env_id..upcall_argument; general
 * registers only: the kernel uses no SSE register, ProjectDriftTests), its
 * address space. */
.macro ENTER_RECORD record, top, scratch, strings=0
  movq \top, tss_area+TSS_RSP0(%rip)
  movq \record, running_env(%rip)
  .if \strings
  /* Where RSI and RDI are free: one MOVSQ a word (DF is clear: SYSCALL's
   * FMASK clears it and the kernel never sets it). */
  leaq T_ID(\record), %rsi
  leaq syscall_env_id(%rip), %rdi
  .rept 5
  movsq
  .endr
  .else
  .irp offset, 0, 8, 16, 24, 32
  movq T_ID+\offset(\record), \scratch
  movq \scratch, syscall_env_id+\offset(%rip)
  .endr
  .endif
  movq T_CR3(\record), \scratch
  movq \scratch, %cr3
.endm

pct_call_entry:
  PCT_CALL_FAST 0, pct_call_slow
pct_send_entry:
  PCT_CALL_FAST 1, pct_send_slow

/* pct_reply from an activation serving a synchronous call whose caller, in
 * its main context, waits on it; or one serving a send whose sender owns
 * the turn (so it has not run since it sent: its slot holds the send, and
 * it goes on now with 0, the word dropped). R8 = the callee's record
 * (running), R9 = the caller's, RAX = the caller's main slot; RDI is the
 * word. */
pct_reply_entry:
  movq running_env(%rip), %r8
  movq T_ACTIVATION_REGISTERS(%r8), %rax
  cmpq %rax, T_REGISTERS(%r8)
  jne pct_reply_slow               /* not in an activation */
  movzbl T_SERVING(%r8), %r9d      /* an env's id, or 0; SERVING_ASYNC is above it */
  movq env_records(,%r9,8), %r9    /* the caller's */
  testl $SERVING_ASYNC, T_SERVING(%r8)
  jnz pct_reply_send
  movq T_ID(%r8), %rax
  cmpq %rax, T_WAITING_ON(%r9)
  jne pct_reply_slow
pct_reply_checked:
  cmpq $ENV_STATE_RUNNABLE, T_STATE(%r9)
  jne pct_reply_slow
  movq T_MAIN_REGISTERS(%r9), %rax
  cmpq %rax, T_REGISTERS(%r9)
  jne pct_reply_slow               /* the caller is in an activation of its own */
  movq TF_RIP(%rax), %rcx
  btq $47, %rcx
  jc pct_reply_slow                /* SYSRET could not return there */
  /* The activation ends; a synchronous caller stops waiting (a sender waits on no one). */
  movq $0, T_SERVING(%r8)          /* and SERVING_ASYNC */
  movq $0, T_WAITING_ON(%r9)
  movq T_MAIN_REGISTERS(%r8), %rdx
  movq %rdx, T_REGISTERS(%r8)
  movq T_MAIN_FPU(%r8), %rdx
  movq %rdx, T_FPU(%r8)
  movq %rdi, %rdx                  /* the word (0 after a send) */
  leaq TF_SIZE(%rax), %r8
  ENTER_RECORD %r9, %r8, %r10, strings=1
  movq T_MAIN_FPU(%r9), %r8
  fxrstor64 (%r8)                  /* the caller's own FP state, saved at its call */
  movq %r8, fpu_loaded(%rip)
  movq TF_RBX(%rax), %rbx
  movq TF_RBP(%rax), %rbp
  movq TF_R12(%rax), %r12
  movq TF_R13(%rax), %r13
  movq TF_R14(%rax), %r14
  movq TF_R15(%rax), %r15
  movq TF_RFLAGS(%rax), %r11
  andq $USER_FLAGS, %r11
  orq $0x200, %r11                 /* IF; never IOPL */
  movq TF_RSP(%rax), %rsp
  xorl %eax, %eax
  xorl %esi, %esi
  xorl %edi, %edi
  xorl %r8d, %r8d
  xorl %r9d, %r9d
  xorl %r10d, %r10d
  sysretq
pct_reply_send:
  cmpq %r9, turn_owner(%rip)
  jne pct_reply_slow               /* the activation outlasted the sender's turn */
  xorl %edi, %edi                  /* the sender's result: 0, as the send returned */
  jmp pct_reply_checked

/* The Swift path, for every case the fast path leaves: pct_call and
 * pct_send save only what survives the call by the ABI into the caller's
 * slot (RIP, RFLAGS and RSP with the user selectors, and RBX, RBP,
 * R12-R15); pct_reply saves nothing (the activation it ends is dropped).
 * A refused call returns by SYSRET as a fast call does; an accepted one
 * never returns here. */
pct_call_slow:
  movl $PCT_CALL, %eax
  jmp 1f
pct_send_slow:
  movl $PCT_SEND, %eax
1:
  SYSCALL_FRAME SYSCALL_VECTOR
  /* trap_frame's offsets below the vector slot: RBX -16, RBP -56, R12 -96,
   * R13 -104, R14 -112, R15 -120. */
  movq %rbx, -16(%rsp)
  movq %rbp, -56(%rsp)
  movq %r12, -96(%rsp)
  movq %r13, -104(%rsp)
  movq %r14, -112(%rsp)
  movq %r15, -120(%rsp)
  jmp 1f
pct_reply_slow:
  btq $47, %rcx
  jc full_call_reply
  movl $PCT_REPLY, %eax
  movq %rsp, syscall_user_rsp(%rip)
1:
  leaq kernel_stack_top(%rip), %rsp
  pushq %rcx                       /* for a refusal's SYSRET */
  pushq %r11
  movq %r10, %rcx
  movq %rax, %r8
  call exo_pct_fast                /* returns only with a refusal */
  jmp call_return
full_call_reply:
  movl $PCT_REPLY, %eax
  jmp full_call

/* SYSCALL from compatibility mode cannot happen (there is no 32-bit user
 * code segment), but CSTAR must point somewhere: report it as a #GP. */
.p2align 4
.globl syscall_compat_entry
syscall_compat_entry:
  SYSCALL_ENTRY 13, exo_trap

/* exo_resume(frame): load the whole user state and IRETQ. The caller has
 * already forced CS/SS to the user selectors, masked RFLAGS and checked RIP. */
.p2align 4
.globl exo_resume
exo_resume:
  movq %rdi, %rsp
  RESTORE_REGISTERS popq
  addq $16, %rsp                  /* vector, error code */
  iretq

/* exo_sysret(frame): a kernel call's return to its caller. The registers
 * come back from the frame except RCX and R11, which the ABI gives up and
 * SYSRET takes for RIP and RFLAGS. The caller has masked RFLAGS and checked
 * that RIP is canonical (see the fast path above). */
.p2align 4
.globl exo_sysret
exo_sysret:
  movq %rdi, %rsp
  RESTORE_REGISTERS skip
  movq 16(%rsp), %rcx             /* RIP (after vector, error code) */
  movq 32(%rsp), %r11             /* RFLAGS */
  movq 40(%rsp), %rsp             /* RSP: NMIs have their own stack (IST) */
  sysretq

/* The byte functions Embedded Swift calls. Written here rather than in
 * Swift so that the compiler cannot turn their loops back into calls to
 * themselves. */
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

.globl free                      /* the boot arena is never reused (exo/Runtime.swift) */
free:
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

.section .rodata
.p2align 3
/* Where syscall_entry goes, by call number (see there). */
call_entries:
.set number, 0
.rept 64
  .if number == ENV_SELF_CALL
  .quad env_self_fast
  .elseif number == PCT_CALL
  .quad pct_call_entry
  .elseif number == PCT_SEND
  .quad pct_send_entry
  .elseif number == PCT_REPLY
  .quad pct_reply_entry
  .elseif number == MAP_CALL
  .quad map_checked
  .elseif number == PROTECT_CALL
  .quad protect_checked
  .elseif (FAST_CALLS >> number) & 1
  .quad fast_checked
  .else
  .quad full_call
  .endif
  .set number, number + 1
.endr
user_page_count:                  /* USER_PAGE_AND_RIGHTS' bound: pages from UserSpace.lowest to .top */
  .quad (USER_TOP - USER_LOWEST) >> 12
leaf_bits:                        /* map_fast's leaf entry bits, by PageRights */
  .quad LEAF_READ, LEAF_WRITE, LEAF_EXECUTE, LEAF_WRITE_EXECUTE
upcall_none:
  .quad 1                         /* reads as "upcalls disabled": the full path decides */

.bss
.p2align 3
syscall_user_rsp:
  .skip 8
.globl interrupt_tsc
interrupt_tsc:
  .skip 8
/* syscall_env_id and the four upcall_* words: one block, in the order of
 * include/transfer.h's T_ID..T_SHARED_PAGE, which a transfer copies whole. */
.globl syscall_env_id
syscall_env_id:                   /* the running env's id, for the fast path */
  .skip 8
/* The running env's exception upcall (UserMode.swift keeps these current):
 * its shared page through the direct map (0: no handler), the handler's
 * entry and stack, and the shared page's user address for RDI. */
.globl upcall_shared, upcall_entry, upcall_stack, upcall_argument, upcall_none
upcall_shared:
  .skip 8                         /* never 0 once an env runs: upcall_none stands for "no handler" */
upcall_entry:
  .skip 8
upcall_stack:
  .skip 8
upcall_argument:
  .skip 8
