// The Internet checksum (RFC 1071): the ones'-complement sum of 16-bit
// words, used by IPv4, ICMP, UDP and TCP. Sums are kept unfolded in a UInt32
// (or wider) so that pieces (a pseudo-header, then a payload) can be added.

public struct InternetChecksum: Sendable {
  private var sum: UInt64 = 0

  public init() {}

  /// Adds bytes as big-endian 16-bit words; an odd last byte is padded with
  /// zero. Pieces other than the last must have an even length.
  public mutating func add(_ bytes: UnsafeRawBufferPointer) {
    var i = 0
    let n = bytes.count
    while i + 1 < n {
      sum &+= UInt64(bytes[i]) << 8 | UInt64(bytes[i + 1])
      i += 2
    }
    if i < n { sum &+= UInt64(bytes[i]) << 8 }
  }

  public mutating func add(_ word: UInt16) { sum &+= UInt64(word) }
  public mutating func add(_ address: IPv4Address) {
    sum &+= UInt64(address.value >> 16) + UInt64(address.value & 0xffff)
  }

  /// The TCP/UDP pseudo-header: source, destination, protocol, length.
  public mutating func addPseudoHeader(source: IPv4Address, destination: IPv4Address, protocol: UInt8, length: Int) {
    add(source)
    add(destination)
    add(UInt16(`protocol`))
    add(UInt16(truncatingIfNeeded: length))
  }

  /// The value to store in a header (the complement of the folded sum).
  public var value: UInt16 {
    var s = sum
    while s >> 16 != 0 { s = (s & 0xffff) + (s >> 16) }
    return ~UInt16(truncatingIfNeeded: s)
  }

  /// Whether data that includes its own checksum field sums correctly.
  public var verifies: Bool { value == 0 }

  public static func of(_ bytes: UnsafeRawBufferPointer) -> UInt16 {
    var c = InternetChecksum()
    c.add(bytes)
    return c.value
  }
}
