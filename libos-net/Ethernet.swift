// Ethernet II framing: the 14-byte header (destination, source, EtherType)
// that begins every frame. The device strips the FCS, so a frame is 14 to
// 1514 bytes; anything else is malformed. Frames we send are padded to 60
// bytes, the 64-byte IEEE 802.3 minimum less the FCS the device adds.

public enum EtherType {
  public static let ipv4: UInt16 = 0x0800
  public static let arp: UInt16 = 0x0806
}

public struct EthernetHeader: Equatable, Sendable {
  public static let size = 14
  public static let maxFrame = 1514
  public static let minFrame = 60

  public var destination: MACAddress
  public var source: MACAddress
  public var type: UInt16

  public init(destination: MACAddress, source: MACAddress, type: UInt16) {
    self.destination = destination
    self.source = source
    self.type = type
  }

  /// The header of `frame`, or nil when the frame is shorter than a header or longer than 1514 bytes.
  public init?(parsing frame: UnsafeRawBufferPointer) {
    guard frame.count >= Self.size, frame.count <= Self.maxFrame else { return nil }
    destination = MACAddress(frame, at: 0)
    source = MACAddress(frame, at: 6)
    type = frame.be16(12)
  }

  /// Writes the header at the start of `frame` (at least 14 bytes).
  public func store(to frame: UnsafeMutableRawBufferPointer) {
    destination.store(to: frame, at: 0)
    source.store(to: frame, at: 6)
    frame.storeBE16(type, at: 12)
  }

  /// The length to send for `length` bytes of frame: padded up to the minimum.
  /// The caller has zeroed the padding.
  static func paddedLength(_ length: Int) -> Int { max(length, minFrame) }
}
