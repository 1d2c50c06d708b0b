// Per-env timers (`timer_arm`, `timer_cancel`): each env's table
// (secure-bindings/EnvTimers.swift) and the earliest deadline of all of
// them, which the slice vector folds into the one APIC timer it programs,
// running or halted. A timer that passes delivers its bit as any event does.
import SecureBindings

enum Timers {
  typealias EnvRef = UnsafeMutablePointer<Env>

  /// The earliest deadline of any env's timer (`UInt64.max`: none), kept
  /// current by every change, so the hot paths read one word.
  nonisolated(unsafe) private(set) static var earliest: UInt64 = UInt64.max

  /// Periods from 50 µs, deadlines and periods up to an hour ahead.
  static var limits: EnvTimers.Limits {
    EnvTimers.Limits(minimumPeriod: max(LocalAPIC.tscPerMillisecond / 20, 1), horizon: LocalAPIC.tscPerMillisecond * 3_600_000)
  }

  static func arm(_ env: EnvRef, _ deadline: UInt64, _ period: UInt64, _ bit: UInt64) throws(CallFailure) -> UInt64 {
    let id: Int
    do {
      id = try env.pointee.timers.arm(deadline: deadline, period: period, bit: bit, now: Machine.tsc(), limits: limits)
    } catch { throw CallFailure(error) }
    earliest = min(earliest, deadline)
    SliceVector.deadlineArmed()
    return UInt64(id)
  }

  static func cancel(_ env: EnvRef, _ id: UInt64) throws(CallFailure) {
    do { try env.pointee.timers.cancel(id) } catch { throw CallFailure(error) }
    recompute()
  }

  /// At exit.
  static func cancelAll(_ env: EnvRef) {
    env.pointee.timers.cancelAll()
    recompute()
  }

  /// Delivers every timer that has passed; cheap when none has.
  static func fireDue() {
    let now = Machine.tsc()
    guard now >= earliest else { return }
    for i in 0..<envTable.count {
      let env = envTable.slots + i
      guard env.pointee.state == .runnable || env.pointee.state == .blocked else { continue }
      let bits = env.pointee.timers.fire(now: now)
      if bits != 0 { Events.deliver(env, bits) }
    }
    recompute()
  }

  private static func recompute() {
    var least = UInt64.max
    for i in 0..<envTable.count { least = min(least, envTable.slots[i].timers.earliest) }
    earliest = least
  }
}
