// Where evicted pages wait: page-sized slots over memory the app owns (a
// stand-in for a disk until the libOS has one). Slots are handed out from a
// free stack, so taking and giving one back is O(1).
import SecureBindings

public struct BackingStore {
  public let base: UnsafeMutableRawPointer
  public let slots: Int
  private var free: [Int]

  /// `memory` must hold whole pages; each is one slot.
  public init(memory: UnsafeMutableRawBufferPointer) {
    base = memory.baseAddress!
    slots = memory.count / Int(UserSpace.pageSize)
    free = Array((0..<slots).reversed())
  }

  public var freeSlots: Int { free.count }

  public mutating func take() -> Int? { free.popLast() }

  public mutating func give(_ slot: Int) { free.append(slot) }

  public func address(of slot: Int) -> UnsafeMutableRawPointer { base + slot * Int(UserSpace.pageSize) }
}
