/* The kernel's static tables, sized here once: the kernel allocates
 * nothing after boot. exo/Limits.swift states the same sizes for Swift. */
.set MAX_FRAMES, 262144           /* 1 GiB of RAM is managed; more is ignored */
.set DMA_AREA_SIZE, 64 * 4096     /* exo/arch/x86_64/VirtioNet.swift lays it out */
#include "include/transfer.h"

.bss
.p2align 12
.globl boot_arena
boot_arena:
  .skip 512 * 1024                /* what posix_memalign hands out at boot */
.globl frame_owners
frame_owners:
  .skip MAX_FRAMES * 2
.globl frame_free_stack
frame_free_stack:
  .skip MAX_FRAMES * 4
.globl idt_table
idt_table:
  .skip 256 * 16
.globl tss_area
tss_area:
  .skip 4096                      /* 104 bytes used; the I/O-map base points past the limit */
.globl frame_generations
frame_generations:
  .skip MAX_FRAMES * 2
.globl frame_uses
frame_uses:
  .skip MAX_FRAMES * 4
/* Each env id's transfer record (include/transfer.h: its Env), a record
 * that is never runnable for the ids with no env, the running env, the
 * env whose turn it is, whose
 * FP area the registers hold, and the clean FP image every activation
 * starts from. */
.p2align 4
.globl env_records
env_records:
  .skip (ENV_MAX + 1) * 8
.globl free_record
free_record:
  .skip T_SIZE
.globl running_env
running_env:
  .skip 8
.globl turn_owner
turn_owner:                       /* Trap.swift's turnOwner: whose turn it is */
  .skip 8
.globl fpu_loaded
fpu_loaded:
  .skip 8
.p2align 4
.globl fpu_clean
fpu_clean:
  .skip 512
.p2align 12
.globl dma_area
dma_area:
  .skip DMA_AREA_SIZE             /* virtio queues and packet buffers; the device reads and writes it */
