// What each frame is bound to beyond its owner: its generation (bumped on
// every hand-out, so old capabilities go stale), how many page-table
// entries map it as data, and whether it is a page table or a registered
// shared page. The kernel checks a capability against these once, when a
// binding is made; the page-table entry it writes is then the cheap check
// the hardware repeats at every use.

public struct FrameBindings {
  private let generations: UnsafeMutableBufferPointer<UInt16>
  private let uses: UnsafeMutableBufferPointer<UInt16>

  private static let pageTableBit: UInt16 = 0x8000
  private static let pinnedBit: UInt16 = 0x4000
  private static let mapCountMask: UInt16 = 0x3fff
  /// How many times one frame may be mapped as data.
  public static let maxMappings = Int(mapCountMask)

  /// Storage is the caller's, one entry per frame, zero-filled (as .bss is).
  public init(generations: UnsafeMutableBufferPointer<UInt16>, uses: UnsafeMutableBufferPointer<UInt16>) {
    precondition(uses.count >= generations.count)
    self.generations = generations
    self.uses = uses
  }

  /// A frame just handed out: a new generation, no uses.
  public mutating func claim(_ frame: Frame) -> FrameCapability {
    let i = Int(frame.number)
    generations[i] &+= 1
    uses[i] = 0
    return FrameCapability(frame: frame, generation: generations[i])
  }

  /// The frame a capability names, if `env` owns it now and the generation matches.
  public func check(_ capability: FrameCapability, heldBy env: EnvID, in table: FrameTable) throws(ExoError) -> Frame {
    let frame = capability.frame
    guard frame.number < UInt64(generations.count), table.owner(of: frame) == .env(env),
      generations[Int(frame.number)] == capability.generation
    else { throw .badCapability }
    return frame
  }

  /// The capability that names the frame now.
  public func current(_ frame: Frame) -> FrameCapability {
    FrameCapability(frame: frame, generation: generations[Int(frame.number)])
  }

  /// Whether the capability carries the frame's current generation (no ownership check).
  public func isCurrent(_ capability: FrameCapability) -> Bool {
    capability.frame.number < UInt64(generations.count)
      && generations[Int(capability.frame.number)] == capability.generation
  }

  public func isPageTable(_ frame: Frame) -> Bool { uses[Int(frame.number)] & Self.pageTableBit != 0 }
  public func isPinned(_ frame: Frame) -> Bool { uses[Int(frame.number)] & Self.pinnedBit != 0 }
  public func mappings(of frame: Frame) -> Int { Int(uses[Int(frame.number)] & Self.mapCountMask) }
  /// Neither mapped, nor a page table, nor pinned: free to give back or to become a table.
  public func isIdle(_ frame: Frame) -> Bool { uses[Int(frame.number)] == 0 }

  /// Whether one more data mapping fits in the counter.
  public func canMap(_ frame: Frame) -> Bool { !isPageTable(frame) && mappings(of: frame) < Self.maxMappings }

  public mutating func noteMapped(_ frame: Frame) { uses[Int(frame.number)] += 1 }
  public mutating func noteUnmapped(_ frame: Frame) {
    if mappings(of: frame) > 0 { uses[Int(frame.number)] -= 1 }
  }
  public mutating func markPageTable(_ frame: Frame) { uses[Int(frame.number)] |= Self.pageTableBit }
  public mutating func pin(_ frame: Frame) { uses[Int(frame.number)] |= Self.pinnedBit }
  public mutating func unpin(_ frame: Frame) { uses[Int(frame.number)] &= ~Self.pinnedBit }
}
