// sleeper:timers: per-env timers end to end. A one-shot timer's bit arrives
// no earlier than its deadline and soon after it (the CPU halts meanwhile);
// a periodic one fires once a period and stops when cancelled; the shared
// page counts each delivery with its bits and stamp; a delivery upcalls the
// handler when asked to; and every hostile argument gets its error.
import LibOSRuntime
import UserArch

enum SleeperTimers {
  nonisolated(unsafe) static var wrong = 0
  nonisolated(unsafe) static var upcalls = 0

  static func check(_ what: StaticString, _ ok: Bool) {
    if ok {
      print("ok \(what.description)")
    } else {
      wrong += 1
      print("WRONG \(what.description)")
    }
  }

  /// The error `timer_arm` answers with, or nil (and the timer is cancelled again).
  static func armError(_ deadline: UInt64, period: UInt64 = 0, bit: UInt64) -> ExoError? {
    do throws(ExoError) {
      try Exo.timerCancel(try Exo.timerArm(deadline: deadline, period: period, bit: bit))
    } catch { return error }
    return nil
  }

  static func cancelError(_ id: UInt64) -> ExoError? {
    do throws(ExoError) { try Exo.timerCancel(id) } catch { return error }
    return nil
  }

  static func run() {
    let ms = Time.ticks(microseconds: 1000)
    // Late by at most five slices: the boot tests run under TCG on a shared host.
    let slack = 5 * Time.ticks(microseconds: Time.sliceMicroseconds)
    oneShot(ms: ms, slack: slack)
    periodic(ms: ms, slack: slack)
    hostile(ms: ms)
    upcall(ms: ms, slack: slack)
    if wrong > 0 {
      print("timers: \(wrong) wrong")
      Exo.exit(1)
    }
    print("timers: all checks passed")
  }

  static func oneShot(ms: UInt64, slack: UInt64) {
    let t0 = exo_rdtsc()
    let deadline = t0 + 3 * ms
    guard (try? Exo.timerArm(deadline: deadline, bit: 5)) != nil else { return check("a one-shot timer is armed", false) }
    let bits = (try? Exo.eventWait(microseconds: 0)) ?? 0
    let t1 = exo_rdtsc()
    print("one-shot timer for 3 ms: bits 0x\(String(bits, radix: 16)) after \((t1 - t0) * 1000 / ms) us")
    check("the one-shot timer sets its bit", bits == 1 << 5)
    check("the one-shot timer does not fire early", t1 >= deadline)
    check("the one-shot timer fires within five slices of its deadline", t1 < deadline + slack)
    check("the shared page is not there yet, so it counts nothing", Events.count == 0)
  }

  static func periodic(ms: UInt64, slack: UInt64) {
    let t0 = exo_rdtsc()
    guard let id = try? Exo.timerArm(deadline: t0 + ms, period: ms, bit: 6) else {
      return check("a periodic timer is armed", false)
    }
    var deliveries = 0
    while deliveries < 5 {
      let bits = (try? Exo.eventWait(microseconds: 0)) ?? 0
      if bits & (1 << 6) != 0 { deliveries += 1 } else { break }
    }
    let t1 = exo_rdtsc()
    print("periodic timer, 1 ms: 5 deliveries after \((t1 - t0) * 1000 / ms) us")
    check("the periodic timer fires five times", deliveries == 5)
    check("five periods take at least 5 ms", t1 >= t0 + 5 * ms)
    check("five periods take less than 5 ms and five slices", t1 < t0 + 5 * ms + slack)
    check("a cancel of an armed timer succeeds", cancelError(id) == nil)
    _ = try? Exo.eventWait(microseconds: 1)  // a delivery just before the cancel
    check("a cancelled timer fires no more", (try? Exo.eventWait(microseconds: 3000)) == 0)
    check("cancelling it again is refused", cancelError(id) == .badArgument)
  }

  static func hostile(ms: UInt64) {
    let now = exo_rdtsc()
    let hour = 3_600_000 * ms
    check("bit 64 is refused", armError(now + ms, bit: 64) == .badArgument)
    check("bit 2^63 is refused", armError(now + ms, bit: 1 << 63) == .badArgument)
    check("deadline 0 is refused", armError(0, bit: 1) == .badArgument)
    check("a deadline two hours ahead is refused", armError(now + 2 * hour, bit: 1) == .badArgument)
    check("deadline 2^64-1 is refused", armError(UInt64.max, bit: 1) == .badArgument)
    check("a period of one tick is refused", armError(now + ms, period: 1, bit: 1) == .badArgument)
    check("a period of two hours is refused", armError(now + ms, period: 2 * hour, bit: 1) == .badArgument)
    check("cancelling timer 4 is refused", cancelError(4) == .badArgument)
    check("cancelling timer 2^64-1 is refused", cancelError(UInt64.max) == .badArgument)
    check("cancelling a timer never armed is refused", cancelError(0) == .badArgument)
    var ids: [UInt64] = []
    for bit: UInt64 in 10..<14 { if let id = try? Exo.timerArm(deadline: now + hour / 2, bit: bit) { ids.append(id) } }
    check("four timers can be armed at once", ids.count == 4)
    check("a fifth is refused with table_full", armError(now + hour / 2, bit: 1) == .tableFull)
    for id in ids { _ = cancelError(id) }
    check("after cancelling them a timer can be armed again", armError(now + hour / 2, bit: 1) == nil)
    // A timeout too far ahead to count in TSC ticks never passes (it once
    // wrapped around and woke the env at once): the timer's bit ends the wait.
    if let id = try? Exo.timerArm(deadline: exo_rdtsc() + ms, bit: 8) {
      let bits = (try? Exo.eventWait(microseconds: UInt64.max)) ?? 0
      check("a 2^64-1 µs timeout waits for the event", bits == 1 << 8)
      _ = cancelError(id)
    } else {
      check("a timer for the long wait is armed", false)
    }
  }

  /// With the shared page registered and upcalls asked for, the delivery
  /// interrupts the spinning main context and runs the handler.
  static func upcall(ms: UInt64, slack: UInt64) {
    do throws(ExoError) {
      try Events.onDelivery { _ in upcalls += 1 }
    } catch {
      return check("event upcalls are registered", false)
    }
    let before = Events.count
    let t0 = exo_rdtsc()
    let deadline = t0 + 2 * ms
    guard (try? Exo.timerArm(deadline: deadline, bit: 7)) != nil else { return check("a timer is armed", false) }
    while upcalls == 0 && exo_rdtsc() < deadline + 10 * slack {}
    let t1 = exo_rdtsc()
    check("the delivery upcalls the handler while the env spins", upcalls == 1)
    check("the shared page counts the delivery", Events.count == before + 1)
    check("the shared page names its bit", Events.latestBits == 1 << 7)
    check("the stamp lies between arming and the upcall", Events.latestStamp > t0 && Events.latestStamp <= t1)
    check("the upcall comes no earlier than the deadline", t1 >= deadline)
    check("a flag other than upcall is refused", Exo.rawCall(KernelCall.eventListen.rawValue, 0, 2).status == ExoError.badArgument.rawValue)
    _ = try? Exo.eventWait(microseconds: 1)  // takes the pending bit
  }
}
