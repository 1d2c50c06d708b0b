// Events and sleeping from the libOS's side: who may signal this env, a
// signal to another, and waiting (for bits, or a timeout) without spinning.
import SecureBindings
import UserArch

extension Exo {
  /// Lets the envs whose ids are set in `senders` (bit i = env i) signal this one.
  public static func eventListen(senders: UInt64) {
    _ = exo_syscall(KernelCall.eventListen.rawValue, senders, 0, 0, 0, 0, 0)
  }

  public static func eventSignal(_ env: EnvID, bits: UInt64) throws(ExoError) {
    let r = exo_syscall(KernelCall.eventSignal.rawValue, UInt64(env.raw), bits, 0, 0, 0, 0)
    guard r.status == 0 else { throw ExoError(rawValue: r.status) ?? .badArgument }
  }

  /// Waits for event bits or until `microseconds` pass (0: bits only);
  /// returns the bits taken, 0 if the time ran out.
  public static func eventWait(microseconds: UInt64) throws(ExoError) -> UInt64 {
    Console.flush()
    let r = exo_syscall(KernelCall.eventWait.rawValue, microseconds, 0, 0, 0, 0, 0)
    guard r.status == 0 else { throw ExoError(rawValue: r.status) ?? .badArgument }
    return r.value
  }

  /// Sleeps at least `microseconds`, letting the CPU go to others (or halt).
  public static func sleep(microseconds: UInt64) {
    _ = try? eventWait(microseconds: max(microseconds, 1))
  }
}
