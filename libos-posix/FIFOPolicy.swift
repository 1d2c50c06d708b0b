// First in, first out: evict the page that became resident longest ago,
// whatever has touched it since. Needs no reference information, so it never
// asks the pager to unmap a page early.
import SecureBindings

public struct FIFOPolicy: ReplacementPolicy {
  /// When each slot was loaded; 0 = empty.
  private var loadedAt: [UInt64]
  private var clock: UInt64 = 0

  public init(slots: Int) { loadedAt = Array(repeating: 0, count: slots) }

  public mutating func loaded(_ slot: Int) {
    clock += 1
    loadedAt[slot] = clock
  }

  public mutating func touched(_ slot: Int) {}

  public mutating func released(_ slot: Int) { loadedAt[slot] = 0 }

  /// The oldest occupied slot; a scan, as budgets are small.
  public mutating func next() -> ReplacementStep {
    var oldest = -1
    for slot in loadedAt.indices where loadedAt[slot] != 0 {
      if oldest < 0 || loadedAt[slot] < loadedAt[oldest] { oldest = slot }
    }
    return .evict(slot: max(oldest, 0))
  }
}
