// Per-env timers: a few one-shot or periodic deadlines, in TSC ticks (the
// calibrated time base of the time page), each setting an event bit of the
// env's choice when it passes. Hardware-free, so the host tests it; the
// kernel keeps one table per env and programs the APIC for the earliest
// deadline of all of them.

public struct EnvTimers: Sendable {
  /// Timers one env may have armed at once.
  public static let capacity = 4

  /// Deadline of each timer, 0 when the timer is free.
  private var deadlines = InlineArray<4, UInt64>(repeating: 0)
  private var periods = InlineArray<4, UInt64>(repeating: 0)
  private var bits = InlineArray<4, UInt64>(repeating: 0)

  public init() {}

  /// What the kernel allows: a deadline at most `horizon` ticks after `now`
  /// (a past deadline fires at once), and a period of 0 (one-shot) or from
  /// `minimumPeriod` to `horizon`, so no timer can flood the CPU.
  public struct Limits: Sendable {
    public let minimumPeriod: UInt64
    public let horizon: UInt64
    public init(minimumPeriod: UInt64, horizon: UInt64) {
      self.minimumPeriod = minimumPeriod
      self.horizon = horizon
    }
  }

  /// Checks everything, then takes a free timer; returns its id.
  public mutating func arm(
    deadline: UInt64, period: UInt64, bit: UInt64, now: UInt64, limits: Limits
  ) throws(ExoError) -> Int {
    guard bit < 64, deadline != 0, deadline <= now &+ limits.horizon, now <= UInt64.max - limits.horizon,
      period == 0 || (period >= limits.minimumPeriod && period <= limits.horizon)
    else { throw .badArgument }
    guard let id = (0..<Self.capacity).first(where: { deadlines[$0] == 0 }) else { throw .tableFull }
    deadlines[id] = deadline
    periods[id] = period
    bits[id] = 1 << bit
    return id
  }

  public mutating func cancel(_ id: UInt64) throws(ExoError) {
    guard id < UInt64(Self.capacity), deadlines[Int(id)] != 0 else { throw .badArgument }
    deadlines[Int(id)] = 0
  }

  public mutating func cancelAll() {
    for id in 0..<Self.capacity { deadlines[id] = 0 }
  }

  /// The event bits of every timer due at `now`. A one-shot timer is then
  /// free; a periodic one moves to its first deadline after `now` (periods
  /// missed while the CPU was elsewhere are merged, not queued).
  public mutating func fire(now: UInt64) -> UInt64 {
    var due: UInt64 = 0
    for id in 0..<Self.capacity where deadlines[id] != 0 && deadlines[id] <= now {
      due |= bits[id]
      let period = periods[id]
      deadlines[id] = period == 0 ? 0 : deadlines[id] &+ period &* ((now - deadlines[id]) / period + 1)
    }
    return due
  }

  /// The earliest armed deadline, or `UInt64.max` when none is armed.
  public var earliest: UInt64 {
    var least = UInt64.max
    for id in 0..<Self.capacity where deadlines[id] != 0 { least = min(least, deadlines[id]) }
    return least
  }

  public var isArmed: Bool { earliest != UInt64.max }
  public func isArmed(_ id: Int) -> Bool { deadlines[id] != 0 }
}
