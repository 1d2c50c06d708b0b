/* The entry of a protected control transfer: the kernel starts an
 * activation here with RDI = the caller, RSI, RDX, RCX = its three words and
 * RSP = the activation stack (16-byte aligned). */
#include "include/exo_user.h"

#if !defined(__linux__) /* the host build compiles only the header, for its tests */

.text
.globl exo_pct_entry
.type exo_pct_entry, @function
exo_pct_entry:
  andq $-16, %rsp
  call exo_pct_dispatch             /* replies to the caller; never returns */
  ud2
.size exo_pct_entry, . - exo_pct_entry

.bss
.p2align 4
.globl exo_pct_stack
exo_pct_stack:
  .skip EXO_PCT_STACK_SIZE

#endif
