// SYSCALL's general fast path (trap.S): a call from its FAST_CALLS list
// returns to its caller with nothing switched and no upcall, so trap.S saved
// no register frame; the arguments come in the C ABI's registers and the
// result goes back in RAX and RDX by SYSRET.
import X86

@_cdecl("exo_fast_call")
func exoFastCall(_ a0: UInt64, _ a1: UInt64, _ a2: UInt64, _ a3: UInt64, _ number: UInt64) -> exo_call_result {
  guard let env = runningEnv else { panic("kernel call with no env running") }
  let (status, value) = KernelCalls.fast(env, number, (a0, a1, a2, a3))
  return exo_call_result(status: status, value: value)
}

