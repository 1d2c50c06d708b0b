// The packet-filter language of the network binding: a filter is a conjunction
// of DPF-style atoms [Engler96, "DPF: Fast, Flexible Message Demultiplexing
// using Dynamic Code Generation", SIGCOMM 1996], each one masked big-endian
// compare at a fixed offset. There are no jumps and no loops, so a filter's
// cost is bounded by its atom count, and a filter can be compared with another
// byte by byte, which is what lets the kernel prove ownership and decide
// conflicts once, when the binding is made.
//
// Invariants: a `PacketFilter` only exists verified (by `decode` or
// `init(atoms:)`, both in PacketFilterVerifier.swift); it is a fixed-size
// value, so the kernel stores it without allocating.
//
// Files: this one (atoms, the value, the binary encoding), PacketFilterVerifier
// (decode and its errors), PacketFilterInterpreter (matches), PacketFilterBytes
// (the byte-by-byte view the proofs reason on), PacketFilterOwnership,
// PacketFilterConflict, PacketFilterTable (the merged lookup).

/// Where an atom's offset counts from.
public enum FilterBase: UInt8, Sendable {
  /// The first byte of the Ethernet frame (destination MAC).
  case frame = 0
  /// The first byte after the IPv4 header (14 + 4 * IHL). Only in a filter
  /// that pins the ethertype to IPv4.
  case ipPayload = 1
}

/// One test: load `size` bytes big-endian at `offset` from `base`, and compare
/// the bits under `mask` with `value`. A load past the frame fails the test.
public struct FilterAtom: Equatable, Sendable {
  public var base: FilterBase
  /// 1, 2 or 4.
  public var size: UInt8
  public var offset: UInt16
  public var mask: UInt32
  public var value: UInt32

  public init(base: FilterBase = .frame, offset: UInt16, size: UInt8, mask: UInt32, value: UInt32) {
    self.base = base
    self.offset = offset
    self.size = size
    self.mask = mask
    self.value = value
  }

  /// A full-mask test, the common case.
  public init(base: FilterBase = .frame, offset: UInt16, size: UInt8, equals value: UInt32) {
    self.init(
      base: base, offset: offset, size: size, mask: size >= 4 ? 0xffff_ffff : (UInt32(1) << (8 * UInt32(size))) &- 1,
      value: value)
  }
}

public struct PacketFilter: Equatable, Sendable {
  public static let maxAtoms = 12
  /// The largest Ethernet frame without FCS; no atom reads past it.
  public static let maxFrameLength = 1514

  // The binary encoding an env hands the kernel. Header: magic u32, atom
  // count u32; then one 16-byte record per atom: base u8, size u8, offset u16,
  // mask u32, value u32, reserved u32 (must be 0). All little-endian.
  /// "DPF1" in memory order.
  public static let magic: UInt32 = 0x3146_5044
  public static let headerSize = 8
  public static let recordSize = 16

  var atomStorage: InlineArray<12, FilterAtom>
  public internal(set) var count: Int

  /// Empty; only the verifier and the fixed filters in PacketFilterOwnership fill it.
  init() {
    atomStorage = InlineArray(repeating: FilterAtom(offset: 0, size: 1, mask: 0, value: 0))
    count = 0
  }

  public subscript(index: Int) -> FilterAtom {
    precondition(index >= 0 && index < count)
    return atomStorage[index]
  }

  public var encodedCount: Int { Self.headerSize + count * Self.recordSize }

  /// Writes the binary form; nil when `buffer` is smaller than `encodedCount`.
  @discardableResult
  public func encode(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
    guard buffer.count >= encodedCount else { return nil }
    put32(buffer, 0, Self.magic)
    put32(buffer, 4, UInt32(count))
    for i in 0..<count {
      let atom = atomStorage[i]
      let at = Self.headerSize + i * Self.recordSize
      buffer[at] = atom.base.rawValue
      buffer[at + 1] = atom.size
      buffer[at + 2] = UInt8(truncatingIfNeeded: atom.offset)
      buffer[at + 3] = UInt8(truncatingIfNeeded: atom.offset >> 8)
      put32(buffer, at + 4, atom.mask)
      put32(buffer, at + 8, atom.value)
      put32(buffer, at + 12, 0)
    }
    return encodedCount
  }

  public static func == (a: PacketFilter, b: PacketFilter) -> Bool {
    guard a.count == b.count else { return false }
    for i in 0..<a.count where a.atomStorage[i] != b.atomStorage[i] { return false }
    return true
  }

  private func put32(_ buffer: UnsafeMutableRawBufferPointer, _ at: Int, _ v: UInt32) {
    buffer[at] = UInt8(truncatingIfNeeded: v)
    buffer[at + 1] = UInt8(truncatingIfNeeded: v >> 8)
    buffer[at + 2] = UInt8(truncatingIfNeeded: v >> 16)
    buffer[at + 3] = UInt8(truncatingIfNeeded: v >> 24)
  }
}
