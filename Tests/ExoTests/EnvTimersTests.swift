// Host tests of the per-env timer table (secure-bindings/EnvTimers.swift):
// a seeded random sequence of arms (good and hostile), cancels and clock
// advances, each checked against a plain model of the same timers.
import SecureBindings
import XCTest

final class EnvTimersTests: XCTestCase {
  private let limits = EnvTimers.Limits(minimumPeriod: 50, horizon: 1_000_000)

  /// The model: what each timer should be, in the simplest terms.
  private struct Model {
    var timers: [(deadline: UInt64, period: UInt64, bit: UInt64)?] = Array(repeating: nil, count: EnvTimers.capacity)
    var earliest: UInt64 { timers.compactMap { $0?.deadline }.min() ?? UInt64.max }
  }

  func testRandomArmsCancelsAndFiresMatchTheModel() {
    for seed in UInt64(1)...40 {
      var random = SplitMix64(seed: seed)
      var timers = EnvTimers()
      var model = Model()
      var now: UInt64 = random.next() % 1_000_000
      for step in 0..<400 {
        let context = "seed \(seed) step \(step)"
        switch random.below(4) {
        case 0:
          let bit = random.chance(10) ? 64 + random.next() % 100 : random.next() % 64
          let deadline: UInt64 =
            random.chance(5) ? 0 : random.chance(5) ? now + limits.horizon + 1 + random.next() % 100 : now &+ random.next() % 3000
          let period: UInt64 = random.chance(40) ? 0 : random.chance(10) ? random.next() % limits.minimumPeriod : 50 + random.next() % 500
          let valid = bit < 64 && deadline != 0 && deadline <= now + limits.horizon && (period == 0 || period >= limits.minimumPeriod)
          let free = model.timers.firstIndex { $0 == nil }
          do {
            let id = try timers.arm(deadline: deadline, period: period, bit: bit, now: now, limits: limits)
            XCTAssertTrue(valid, context)
            XCTAssertEqual(id, free, context)
            model.timers[id] = (deadline, period, bit)
          } catch {
            XCTAssertEqual(error, valid ? .tableFull : .badArgument, context)
            if valid { XCTAssertNil(free, context) }
          }
        case 1:
          let id = random.chance(20) ? UInt64(EnvTimers.capacity) + random.next() % 10 : random.next() % UInt64(EnvTimers.capacity)
          let armed = id < UInt64(EnvTimers.capacity) && model.timers[Int(id)] != nil
          do {
            try timers.cancel(id)
            XCTAssertTrue(armed, context)
            model.timers[Int(id)] = nil
          } catch {
            XCTAssertFalse(armed, context)
            XCTAssertEqual(error, .badArgument, context)
          }
        default:
          now += random.next() % 700
          var expected: UInt64 = 0
          for i in model.timers.indices {
            guard let t = model.timers[i], t.deadline <= now else { continue }
            expected |= 1 << t.bit
            if t.period == 0 {
              model.timers[i] = nil
            } else {
              var next = t.deadline
              while next <= now { next += t.period }
              model.timers[i] = (next, t.period, t.bit)
            }
          }
          XCTAssertEqual(timers.fire(now: now), expected, context)
          XCTAssertGreaterThan(timers.earliest, now, "nothing due is left behind: \(context)")
        }
        XCTAssertEqual(timers.earliest, model.earliest, context)
        XCTAssertEqual(timers.isArmed, model.earliest != UInt64.max, context)
        for i in 0..<EnvTimers.capacity { XCTAssertEqual(timers.isArmed(i), model.timers[i] != nil, context) }
      }
    }
  }

  func testAPeriodicTimerMergesMissedPeriodsAndKeepsItsPhase() throws {
    var timers = EnvTimers()
    _ = try timers.arm(deadline: 1000, period: 100, bit: 3, now: 0, limits: limits)
    XCTAssertEqual(timers.fire(now: 999), 0)
    XCTAssertEqual(timers.fire(now: 1550), 1 << 3, "five periods missed: one delivery")
    XCTAssertEqual(timers.earliest, 1600, "still on its 100-tick phase")
    timers.cancelAll()
    XCTAssertFalse(timers.isArmed)
    XCTAssertEqual(timers.fire(now: 10_000), 0)
  }

  func testAPastDeadlineFiresAtOnceAndNoDeadlineWrapsTheClock() throws {
    var timers = EnvTimers()
    _ = try timers.arm(deadline: 5, period: 0, bit: 0, now: 100, limits: limits)
    XCTAssertEqual(timers.fire(now: 100), 1)
    XCTAssertThrowsError(try timers.arm(deadline: 1, period: 0, bit: 0, now: UInt64.max - 10, limits: limits)) {
      XCTAssertEqual($0 as? ExoError, .badArgument)
    }
  }
}
