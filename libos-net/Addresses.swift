// The two addresses every layer passes around: an Ethernet MAC and an IPv4
// address, as plain values (no String in the data path).

public struct MACAddress: Equatable, Hashable, Sendable {
  public var bytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)

  public init(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8, _ b4: UInt8, _ b5: UInt8) {
    bytes = (b0, b1, b2, b3, b4, b5)
  }

  public static let broadcast = MACAddress(0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
  public static let zero = MACAddress(0, 0, 0, 0, 0, 0)

  /// Reads six bytes at `offset`; the caller has checked the length.
  public init(_ buffer: UnsafeRawBufferPointer, at offset: Int) {
    self.init(
      buffer[offset], buffer[offset + 1], buffer[offset + 2], buffer[offset + 3], buffer[offset + 4],
      buffer[offset + 5])
  }

  public func store(to buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
    buffer[offset] = bytes.0
    buffer[offset + 1] = bytes.1
    buffer[offset + 2] = bytes.2
    buffer[offset + 3] = bytes.3
    buffer[offset + 4] = bytes.4
    buffer[offset + 5] = bytes.5
  }

  public static func == (a: MACAddress, b: MACAddress) -> Bool {
    a.bytes.0 == b.bytes.0 && a.bytes.1 == b.bytes.1 && a.bytes.2 == b.bytes.2 && a.bytes.3 == b.bytes.3
      && a.bytes.4 == b.bytes.4 && a.bytes.5 == b.bytes.5
  }

  public func hash(into hasher: inout Hasher) {
    hasher.combine(bytes.0)
    hasher.combine(bytes.1)
    hasher.combine(bytes.2)
    hasher.combine(bytes.3)
    hasher.combine(bytes.4)
    hasher.combine(bytes.5)
  }

  /// The low 48 bits of a UInt64, first byte most significant (the boot
  /// configuration passes a MAC this way).
  public init(packed: UInt64) {
    self.init(
      UInt8(truncatingIfNeeded: packed >> 40), UInt8(truncatingIfNeeded: packed >> 32),
      UInt8(truncatingIfNeeded: packed >> 24), UInt8(truncatingIfNeeded: packed >> 16),
      UInt8(truncatingIfNeeded: packed >> 8), UInt8(truncatingIfNeeded: packed))
  }

  public var packed: UInt64 {
    UInt64(bytes.0) << 40 | UInt64(bytes.1) << 32 | UInt64(bytes.2) << 24 | UInt64(bytes.3) << 16
      | UInt64(bytes.4) << 8 | UInt64(bytes.5)
  }
}

/// An IPv4 address in host order: 10.0.2.15 is 0x0A00020F.
public struct IPv4Address: Equatable, Hashable, Comparable, Sendable {
  public var value: UInt32

  public init(_ value: UInt32) { self.value = value }
  public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
    value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
  }

  public static let any = IPv4Address(0)
  public static let broadcast = IPv4Address(0xffff_ffff)

  /// Reads four bytes in network order at `offset`; the caller has checked the length.
  public init(_ buffer: UnsafeRawBufferPointer, at offset: Int) {
    self.init(buffer[offset], buffer[offset + 1], buffer[offset + 2], buffer[offset + 3])
  }

  public func store(to buffer: UnsafeMutableRawBufferPointer, at offset: Int) {
    buffer[offset] = UInt8(truncatingIfNeeded: value >> 24)
    buffer[offset + 1] = UInt8(truncatingIfNeeded: value >> 16)
    buffer[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
    buffer[offset + 3] = UInt8(truncatingIfNeeded: value)
  }

  public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }
}
