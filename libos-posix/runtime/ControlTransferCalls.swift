// Protected control transfer from the libOS's side: the stubs for
// pct_listen/pct_call/pct_send/pct_reply, and `Transfers.listen`, which serves calls
// with a Swift handler in the activation the kernel starts for each call.
import SecureBindings
import UserArch

extension Exo {
  /// Accept calls from the envs whose ids are set in `callers` (bit i = env i).
  public static func pctListen(entry: UInt64, stack: UInt64, callers: UInt64) throws(ExoError) {
    _ = try call(.pctListen, entry, stack, callers)
  }

  /// Calls `env` with three words and returns the word it replies with.
  public static func pctCall(_ env: EnvID, _ w0: UInt64 = 0, _ w1: UInt64 = 0, _ w2: UInt64 = 0) throws(ExoError)
    -> UInt64
  {
    let r = exo_pct_call(KernelCall.pctCall.rawValue, UInt64(env.raw), w0, w1, w2)
    guard r.status == 0 else { throw ExoError(rawValue: r.status) ?? .badArgument }
    return r.value
  }

  /// Moves the CPU to `env`'s entry with three words without waiting for a
  /// reply: returns once the callee's activation has ended (or been
  /// preempted) and this env runs again.
  public static func pctSend(_ env: EnvID, _ w0: UInt64 = 0, _ w1: UInt64 = 0, _ w2: UInt64 = 0) throws(ExoError) {
    let r = exo_pct_call(KernelCall.pctSend.rawValue, UInt64(env.raw), w0, w1, w2)
    guard r.status == 0 else { throw ExoError(rawValue: r.status) ?? .badArgument }
  }

  /// Ends the running activation with `word` for the caller.
  public static func pctReply(_ word: UInt64) -> Never {
    Console.flush()
    _ = exo_syscall(KernelCall.pctReply.rawValue, word, 0, 0, 0, 0, 0)
    while true {}  // not reached: pct_reply does not return to the activation
  }
}

public enum Transfers {
  /// Answers one call: the caller's id and its three words in, one word
  /// out. A plain function (it captures nothing): pct.S's entry calls it
  /// straight from the kernel's registers.
  public typealias Handler = @convention(c) (UInt64, UInt64, UInt64, UInt64) -> UInt64

  /// Serves calls from the envs in `callers` with `handler`, which runs in
  /// the activation, on the runtime's activation stack. `entry` is pct.S's
  /// unless the app puts something before it (apps/pct: pct_probe.S).
  public static func listen(callers: UInt64, entry: UInt64 = exo_pct_entry_address(), _ handler: Handler)
    throws(ExoError)
  {
    exo_set_pct_handler(handler)
    try Exo.pctListen(entry: entry, stack: exo_pct_stack_top(), callers: callers)
  }
}

/// pct.S calls this before the reply when the handler left part of a line.
@_cdecl("exo_pct_flush")
func pctFlush() { Console.flush() }
