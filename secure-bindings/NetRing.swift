// The receive ring an env hands the kernel (`net_attach`): frames the env
// owns and maps where it likes. Frame 0 is the control page; every other
// frame holds two 2 KiB slots. The kernel is the only producer and the env
// the only consumer; the kernel keeps its own count of what it produced and
// trusts nothing it reads back from the page but the consumer count, which
// it only compares.

public enum NetRing {
  public static let maxFrames = 33
  public static let slotSize = 2048
  public static let slotsPerFrame = 2
  /// A slot starts with a 16-byte header: the frame's length, then its cost
  /// word (both UInt64); the frame follows.
  public static let slotHeader = 16
  /// The frame's length in bytes (slot offset 0).
  public static let slotLength = 0
  /// The frame's receive cost (slot offset 8), written by the kernel before
  /// it publishes the slot: TSC ticks (guest instructions under icount) from
  /// the start of the network interrupt's handling to the frame being in
  /// this slot, for the first frame an interrupt delivers; for each later
  /// one, from the end of the frame before it. It covers the filter lookup
  /// and the copy, not the trap entry before the handler nor the event
  /// delivery after it. A measure for benchmarks, never read by the kernel.
  public static let slotCost = 8

  // The control page, all UInt64.
  /// Frames the kernel has placed so far (written by the kernel).
  public static let produced = 0
  /// Frames the env has taken (written by the env).
  public static let consumed = 8
  public static let slotCount = 16
  /// The env's binding, written at attach: MAC (48 bits, first byte most significant) and IPv4 (host order).
  public static let mac = 24
  public static let ipv4 = 32
  /// Frames lost because the ring was full.
  public static let droppedFull = 40

  /// The event bit a received frame sets in the env's pending word.
  public static let eventBit: UInt64 = 1 << 62

  /// Where slot `index` (0-based) lives: which ring frame after the control
  /// page, and the byte offset in it.
  public static func slot(_ index: Int) -> (frame: Int, offset: Int) {
    (1 + index / slotsPerFrame, (index % slotsPerFrame) * slotSize)
  }
}
