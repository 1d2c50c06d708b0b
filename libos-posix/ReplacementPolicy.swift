// Which resident page to evict when the app's frame budget is reached. A
// policy sees slots of the resident set being filled, touched and emptied,
// and answers step by step: evict this slot, or first clear this slot's
// reference (the pager unmaps the page, keeping its frame, so that the next
// touch faults and is reported as `touched`).
import SecureBindings

public enum ReplacementStep: Equatable, Sendable {
  case evict(slot: Int)
  case clearReference(slot: Int)
}

public protocol ReplacementPolicy {
  /// A page became resident in `slot` (and counts as referenced).
  mutating func loaded(_ slot: Int)
  /// The page in `slot`, unmapped by `clearReference`, was touched again.
  mutating func touched(_ slot: Int)
  /// `slot` was emptied (evicted or unmapped by the app).
  mutating func released(_ slot: Int)
  /// The next step towards a victim; only called while some slot is occupied.
  mutating func next() -> ReplacementStep
}

/// The policy an app picks at run time, as one concrete type so the pager
/// stays generic without existentials.
public struct PolicyChoice: ReplacementPolicy {
  private enum Storage {
    case fifo(FIFOPolicy)
    case clock(ClockPolicy)
    case moving  // holds nothing while a payload is mutated, so it is not copied
  }

  private var storage: Storage

  public static func fifo(slots: Int) -> PolicyChoice { PolicyChoice(storage: .fifo(FIFOPolicy(slots: slots))) }
  public static func clock(slots: Int) -> PolicyChoice { PolicyChoice(storage: .clock(ClockPolicy(slots: slots))) }

  public var isClock: Bool {
    if case .clock = storage { return true }
    return false
  }

  private mutating func apply<R>(_ fifo: (inout FIFOPolicy) -> R, _ clock: (inout ClockPolicy) -> R) -> R {
    switch storage {
    case .fifo(var policy):
      storage = .moving
      let result = fifo(&policy)
      storage = .fifo(policy)
      return result
    case .clock(var policy):
      storage = .moving
      let result = clock(&policy)
      storage = .clock(policy)
      return result
    case .moving:
      fatalError("replacement policy reentered")
    }
  }

  public mutating func loaded(_ slot: Int) { apply({ $0.loaded(slot) }, { $0.loaded(slot) }) }
  public mutating func touched(_ slot: Int) { apply({ $0.touched(slot) }, { $0.touched(slot) }) }
  public mutating func released(_ slot: Int) { apply({ $0.released(slot) }, { $0.released(slot) }) }
  public mutating func next() -> ReplacementStep { apply({ $0.next() }, { $0.next() }) }
}
