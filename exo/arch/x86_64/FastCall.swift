// SYSCALL's general fast path (trap.S): a call from its FAST_CALLS list
// returns to its caller with nothing switched and no upcall, so trap.S saved
// no register frame; the arguments come in the C ABI's registers and the
// result goes back in RAX and RDX by SYSRET.
import SecureBindings
import X86

@_cdecl("exo_fast_call")
func exoFastCall(_ a0: UInt64, _ a1: UInt64, _ a2: UInt64, _ a3: UInt64, _ number: UInt64) -> exo_call_result {
  guard let env = runningEnv else { panic("kernel call with no env running") }
  let (status, value) = KernelCalls.fast(env, number, (a0, a1, a2, a3))
  return exo_call_result(status: status, value: value)
}

/// The Swift path of `pct_call`, `pct_send` and `pct_reply`, for every case
/// trap.S's assembly fast path leaves (refusals included): the caller's
/// slot holds what the ABI keeps across a call (or, for a reply, nothing:
/// the activation ends), so the transfer skips the dispatcher. It makes
/// every check (ControlTransfer's), and returns only with a refusal, which
/// goes back by SYSRET.
@_cdecl("exo_pct_fast")
func exoPctFast(_ a0: UInt64, _ a1: UInt64, _ a2: UInt64, _ a3: UInt64, _ number: UInt64) -> exo_call_result {
  guard let env = runningEnv else { panic("kernel call with no env running") }
  do throws(CallFailure) {
    if number == KernelCall.pctReply.rawValue {
      guard let next = try ControlTransfer.reply(env, a0) else { endTurn() }
      enterContext(next)
    }
    enterContext(try ControlTransfer.call(env, a0, (a1, a2, a3), synchronous: number == KernelCall.pctCall.rawValue))
  } catch {
    return exo_call_result(status: error.error.rawValue, value: error.value)
  }
}
