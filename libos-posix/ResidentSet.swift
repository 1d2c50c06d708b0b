// The frames the pager holds for demand-paged memory, one slot per frame of
// the app's budget: which page each backs, and whether it is mapped right
// now (the clock policy unmaps a page to see whether it is touched again).
import SecureBindings

public struct ResidentFrame: Equatable, Sendable {
  public var address: UInt64
  public var capability: FrameCapability
  public var mapped: Bool
}

public struct ResidentSet {
  public let capacity: Int
  private var frames: [ResidentFrame?]
  private var free: [Int]

  public init(capacity: Int) {
    self.capacity = capacity
    frames = Array(repeating: nil, count: capacity)
    free = Array((0..<capacity).reversed())
  }

  public var count: Int { capacity - free.count }
  public var isFull: Bool { free.isEmpty }

  public subscript(_ slot: Int) -> ResidentFrame? {
    get { frames[slot] }
    set { frames[slot] = newValue }
  }

  /// A free slot filled with `frame`, or nil when the budget is used up.
  public mutating func admit(_ frame: ResidentFrame) -> Int? {
    guard let slot = free.popLast() else { return nil }
    frames[slot] = frame
    return slot
  }

  public mutating func remove(_ slot: Int) {
    guard frames[slot] != nil else { return }
    frames[slot] = nil
    free.append(slot)
  }
}
