// Per-env timers (`timer_arm`, `timer_cancel`): each env's table
// (secure-bindings/EnvTimers.swift) and the earliest deadline of all of
// them and of every `event_wait` timeout, which the slice vector folds into
// the one APIC timer it programs, running or halted. A timer that passes
// delivers its bit as any event does; a timeout that passes wakes its env.
import SecureBindings

enum Timers {
  typealias EnvRef = UnsafeMutablePointer<Env>

  /// The earliest deadline of any env's timer or of a blocked env's
  /// `event_wait` timeout (`UInt64.max`: none). Every change that makes a
  /// deadline earlier lowers it at once; one that removes a deadline may
  /// leave it early until the next recompute, which costs at most one
  /// interrupt that finds nothing due.
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

  /// An `event_wait` timeout: the APIC interrupts when it passes, not at
  /// the end of whatever slice is running then.
  static func timeoutSet(_ wakeAt: UInt64) {
    earliest = min(earliest, wakeAt)
    SliceVector.deadlineArmed()
  }

  /// Delivers every timer that has passed and wakes every env whose
  /// timeout has; cheap when nothing has.
  static func fireDue() {
    let now = Machine.tsc()
    guard now >= earliest else { return }
    for i in 0..<envTable.count {
      let env = envTable.slots + i
      guard env.pointee.state == .runnable || env.pointee.state == .blocked else { continue }
      let bits = env.pointee.timers.fire(now: now)
      if bits != 0 { Events.deliver(env, bits) }
    }
    Events.wakeExpired()
    recompute()
  }

  private static func recompute() {
    var least = UInt64.max
    for i in 0..<envTable.count {
      let env = envTable.slots + i
      least = min(least, env.pointee.timers.earliest)
      if env.pointee.state == .blocked && env.pointee.wakeAt != 0 { least = min(least, env.pointee.wakeAt) }
    }
    earliest = least
  }
}
