// Events and sleeping from the libOS's side: who may signal this env, a
// signal to another, and waiting (for bits, or a timeout) without spinning.
import SecureBindings
import UserArch

extension Exo {
  /// Lets the envs whose ids are set in `senders` (bit i = env i) signal
  /// this one; with `upcalls`, every delivery also upcalls the exception
  /// handler (see `Events.onDelivery`).
  public static func eventListen(senders: UInt64, upcalls: Bool = false) {
    _ = exo_syscall(KernelCall.eventListen.rawValue, senders, upcalls ? EventSlot.upcallFlag : 0, 0, 0, 0, 0)
  }

  /// Arms a timer that sets event `bit` at TSC `deadline`, then every
  /// `period` ticks if non-zero; returns its id.
  public static func timerArm(deadline: UInt64, period: UInt64 = 0, bit: UInt64) throws(ExoError) -> UInt64 {
    try call(.timerArm, deadline, period, bit)
  }

  public static func timerCancel(_ id: UInt64) throws(ExoError) {
    _ = try call(.timerCancel, id)
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
