// What each frame is bound to beyond its owner: its generation (bumped on
// every hand-out, so old capabilities go stale), how many page-table
// entries map it as data, whether it is a page table, and how many pins
// hold it (a registered shared page, a receive ring frame, each send the
// device has not finished reading from it): a pinned frame cannot be freed,
// granted or repossessed, because the kernel or the device still uses it. The kernel checks a capability against these once, when a
// binding is made; the page-table entry it writes is then the cheap check
// the hardware repeats at every use.

public struct FrameBindings {
  private let generations: UnsafeMutableBufferPointer<UInt16>
  private let uses: UnsafeMutableBufferPointer<UInt32>

  private static let pageTableBit: UInt32 = 0x8000_0000
  private static let pinUnit: UInt32 = 0x1_0000
  private static let pinMask: UInt32 = 0xff_0000
  private static let mapCountMask: UInt32 = 0xffff
  /// How many times one frame may be mapped as data.
  public static let maxMappings = Int(mapCountMask)
  /// Pins one frame can carry. The kernel takes at most one for a shared
  /// page, one for a ring frame and two for each of the device's transmit
  /// buffers (VirtioNet.transmitBuffers, 32), so this is never reached.
  public static let maxPins = Int(pinMask / pinUnit)

  /// Storage is the caller's, one entry per frame, zero-filled (as .bss is).
  public init(generations: UnsafeMutableBufferPointer<UInt16>, uses: UnsafeMutableBufferPointer<UInt32>) {
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
  public func isPinned(_ frame: Frame) -> Bool { uses[Int(frame.number)] & Self.pinMask != 0 }
  public func pins(of frame: Frame) -> Int { Int((uses[Int(frame.number)] & Self.pinMask) / Self.pinUnit) }
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
  /// Every pin is matched by one `unpin`; an unmatched unpin changes nothing.
  public mutating func pin(_ frame: Frame) {
    if pins(of: frame) < Self.maxPins { uses[Int(frame.number)] += Self.pinUnit }
  }
  public mutating func unpin(_ frame: Frame) {
    if isPinned(frame) { uses[Int(frame.number)] -= Self.pinUnit }
  }
}
