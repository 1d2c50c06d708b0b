// The IPv4 header (RFC 791 §3.1): parsed with every check RFC 1122 §3.2.1
// asks of a host, and built with its checksum. Options are accepted and
// skipped (a host need not act on them); fragments are checked here so
// that reassembly can trust their offsets and lengths.

public enum IPProtocol {
  public static let icmp: UInt8 = 1
  public static let tcp: UInt8 = 6
  public static let udp: UInt8 = 17
}

public enum IPv4ParseError: Error, Equatable, Sendable {
  case truncated  // shorter than a header, or than the IHL says
  case badVersion  // not 4
  case badHeaderLength  // IHL below 5
  case badTotalLength  // below the header, or beyond the frame
  case badChecksum
  case zeroTTL  // no host sends TTL 0 (RFC 1122 §3.2.1.7)
  case badSource  // broadcast, multicast or loopback source (RFC 1122 §3.2.1.3)
  case badFragment  // past 65,535 bytes, or a non-final piece not a multiple of 8
}

public struct IPv4Header: Equatable, Sendable {
  public static let minimumSize = 20
  public static let maxDatagram = 65535
  public static let maxPayload = maxDatagram - minimumSize
  public static let defaultTTL: UInt8 = 64

  public var headerLength: Int
  public var totalLength: Int
  public var identification: UInt16
  public var dontFragment: Bool
  public var moreFragments: Bool
  /// In bytes (the field counts 8-byte units).
  public var fragmentOffset: Int
  public var ttl: UInt8
  public var `protocol`: UInt8
  public var source: IPv4Address
  public var destination: IPv4Address

  public var payloadLength: Int { totalLength - headerLength }
  public var isFragment: Bool { moreFragments || fragmentOffset != 0 }

  public init(
    headerLength: Int = IPv4Header.minimumSize, totalLength: Int, identification: UInt16 = 0,
    dontFragment: Bool = false, moreFragments: Bool = false, fragmentOffset: Int = 0,
    ttl: UInt8 = IPv4Header.defaultTTL,
    protocol: UInt8, source: IPv4Address, destination: IPv4Address
  ) {
    self.headerLength = headerLength
    self.totalLength = totalLength
    self.identification = identification
    self.dontFragment = dontFragment
    self.moreFragments = moreFragments
    self.fragmentOffset = fragmentOffset
    self.ttl = ttl
    self.protocol = `protocol`
    self.source = source
    self.destination = destination
  }

  /// Parses the header at the start of `packet` (an Ethernet payload, which
  /// may be longer than the datagram: short frames are padded).
  public init(parsing packet: UnsafeRawBufferPointer) throws(IPv4ParseError) {
    guard packet.count >= Self.minimumSize else { throw .truncated }
    guard packet[0] >> 4 == 4 else { throw .badVersion }
    let ihl = Int(packet[0] & 0xf) * 4
    guard ihl >= Self.minimumSize else { throw .badHeaderLength }
    guard packet.count >= ihl else { throw .truncated }
    let total = Int(packet.be16(2))
    guard total >= ihl, total <= packet.count else { throw .badTotalLength }
    guard InternetChecksum.of(packet.bytes(0, ihl)) == 0 else { throw .badChecksum }
    let flagsAndOffset = packet.be16(6)
    headerLength = ihl
    totalLength = total
    identification = packet.be16(4)
    dontFragment = flagsAndOffset & 0x4000 != 0
    moreFragments = flagsAndOffset & 0x2000 != 0
    fragmentOffset = Int(flagsAndOffset & 0x1fff) * 8
    ttl = packet[8]
    self.protocol = packet[9]
    source = IPv4Address(packet, at: 12)
    destination = IPv4Address(packet, at: 16)
    guard ttl != 0 else { throw .zeroTTL }
    guard source.value == 0 || source.isHostAddress else { throw .badSource }
    if isFragment {
      // Ping of death: a piece that would end past the largest datagram.
      guard ihl + fragmentOffset + payloadLength <= Self.maxDatagram else { throw .badFragment }
      // RFC 791: every piece but the last carries a multiple of 8 bytes (and some).
      if moreFragments { guard payloadLength > 0, payloadLength % 8 == 0 else { throw .badFragment } }
    }
  }

  /// Writes a 20-byte header (no options) with its checksum at the start of `buffer`.
  public func store(to buffer: UnsafeMutableRawBufferPointer) {
    precondition(headerLength == Self.minimumSize, "options are not built")
    buffer[0] = 0x45
    buffer[1] = 0
    buffer.storeBE16(UInt16(truncatingIfNeeded: totalLength), at: 2)
    buffer.storeBE16(identification, at: 4)
    var flags = UInt16(truncatingIfNeeded: fragmentOffset / 8) & 0x1fff
    if dontFragment { flags |= 0x4000 }
    if moreFragments { flags |= 0x2000 }
    buffer.storeBE16(flags, at: 6)
    buffer[8] = ttl
    buffer[9] = self.protocol
    buffer.storeBE16(0, at: 10)
    source.store(to: buffer, at: 12)
    destination.store(to: buffer, at: 16)
    buffer.storeBE16(InternetChecksum.of(UnsafeRawBufferPointer(buffer.bytes(0, Self.minimumSize))), at: 10)
  }
}
