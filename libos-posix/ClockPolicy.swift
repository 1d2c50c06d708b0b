// The clock (second-chance) algorithm: a hand sweeps the slots; a page
// referenced since the hand last passed loses its reference and is spared
// once, an unreferenced one is evicted. The kernel offers no call to clear
// the hardware's accessed bit, so references are kept in software: clearing
// one unmaps the page (keeping its frame) and the next touch faults.
import SecureBindings

public struct ClockPolicy: ReplacementPolicy {
  private var occupied: [Bool]
  private var referenced: [Bool]
  private var hand = 0

  public init(slots: Int) {
    occupied = Array(repeating: false, count: slots)
    referenced = Array(repeating: false, count: slots)
  }

  public mutating func loaded(_ slot: Int) {
    occupied[slot] = true
    referenced[slot] = true
  }

  public mutating func touched(_ slot: Int) { referenced[slot] = true }

  public mutating func released(_ slot: Int) {
    occupied[slot] = false
    referenced[slot] = false
  }

  public mutating func next() -> ReplacementStep {
    // Two turns at most: the first clears every reference it passes.
    for _ in 0..<(2 * occupied.count + 1) {
      let slot = hand
      hand = (hand + 1) % occupied.count
      guard occupied[slot] else { continue }
      if referenced[slot] {
        referenced[slot] = false
        return .clearReference(slot: slot)
      }
      return .evict(slot: slot)
    }
    return .evict(slot: hand)
  }
}
