// The UDP header (RFC 768): ports, length and a checksum over a
// pseudo-header, the header and the data. On receive the length must fit
// the IP payload (extra bytes after it are ignored) and a checksum of 0
// means the sender computed none; on send the checksum is always filled
// in, 0 being sent as 0xffff.

public enum UDPParseError: Error, Equatable, Sendable {
  case truncated  // fewer than 8 bytes, or fewer than the length field says
  case badLength  // a length field below 8
  case badChecksum
}

public struct UDPHeader: Equatable, Sendable {
  public static let size = 8
  /// The most data one datagram carries: 65,535 less the IPv4 and UDP headers.
  public static let maxPayload = IPv4Header.maxPayload - size

  public var sourcePort: UInt16
  public var destinationPort: UInt16
  /// Header and data.
  public var length: Int
  public var checksum: UInt16

  /// Parses and verifies the datagram in `payload` (an IPv4 payload) sent from `source` to `destination`.
  public init(
    parsing payload: UnsafeRawBufferPointer, source: IPv4Address, destination: IPv4Address
  ) throws(UDPParseError) {
    guard payload.count >= Self.size else { throw .truncated }
    sourcePort = payload.be16(0)
    destinationPort = payload.be16(2)
    length = Int(payload.be16(4))
    checksum = payload.be16(6)
    guard length >= Self.size else { throw .badLength }
    guard length <= payload.count else { throw .truncated }
    if checksum != 0 {
      var sum = InternetChecksum()
      sum.addPseudoHeader(source: source, destination: destination, protocol: IPProtocol.udp, length: length)
      sum.add(payload.bytes(0, length))
      guard sum.verifies else { throw .badChecksum }
    }
  }

  /// Writes the 8-byte header for `body` into `head`, checksum included.
  static func build(
    into head: UnsafeMutableRawBufferPointer, sourcePort: UInt16, destinationPort: UInt16, source: IPv4Address,
    destination: IPv4Address, body: UnsafeRawBufferPointer
  ) {
    let length = size + body.count
    head.storeBE16(sourcePort, at: 0)
    head.storeBE16(destinationPort, at: 2)
    head.storeBE16(UInt16(truncatingIfNeeded: length), at: 4)
    head.storeBE16(0, at: 6)
    var sum = InternetChecksum()
    sum.addPseudoHeader(source: source, destination: destination, protocol: IPProtocol.udp, length: length)
    sum.add(UnsafeRawBufferPointer(head.bytes(0, size)))
    sum.add(body)
    let value = sum.value
    head.storeBE16(value == 0 ? 0xffff : value, at: 6)
  }
}
