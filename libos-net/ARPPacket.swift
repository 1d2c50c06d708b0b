// The ARP packet for IPv4 over Ethernet (RFC 826): hardware type 1,
// protocol 0x0800, address lengths 6 and 4, then the sender's and the
// target's MAC and IPv4 address. Anything else is not ours to parse.

public struct ARPPacket: Equatable, Sendable {
  public static let size = 28
  public static let request: UInt16 = 1
  public static let reply: UInt16 = 2

  public var operation: UInt16
  public var senderMAC: MACAddress
  public var senderIP: IPv4Address
  public var targetMAC: MACAddress
  public var targetIP: IPv4Address

  public init(
    operation: UInt16, senderMAC: MACAddress, senderIP: IPv4Address, targetMAC: MACAddress, targetIP: IPv4Address
  ) {
    self.operation = operation
    self.senderMAC = senderMAC
    self.senderIP = senderIP
    self.targetMAC = targetMAC
    self.targetIP = targetIP
  }

  /// The packet at the start of `payload` (an Ethernet payload, maybe
  /// padded), or nil when it is truncated, not Ethernet/IPv4, or neither a
  /// request nor a reply.
  public init?(parsing payload: UnsafeRawBufferPointer) {
    guard payload.count >= Self.size,
      payload.be16(0) == 1, payload.be16(2) == EtherType.ipv4, payload[4] == 6, payload[5] == 4
    else { return nil }
    operation = payload.be16(6)
    guard operation == Self.request || operation == Self.reply else { return nil }
    senderMAC = MACAddress(payload, at: 8)
    senderIP = IPv4Address(payload, at: 14)
    targetMAC = MACAddress(payload, at: 18)
    targetIP = IPv4Address(payload, at: 24)
  }

  /// Writes the 28 bytes at the start of `buffer`.
  public func store(to buffer: UnsafeMutableRawBufferPointer) {
    buffer.storeBE16(1, at: 0)
    buffer.storeBE16(EtherType.ipv4, at: 2)
    buffer[4] = 6
    buffer[5] = 4
    buffer.storeBE16(operation, at: 6)
    senderMAC.store(to: buffer, at: 8)
    senderIP.store(to: buffer, at: 14)
    targetMAC.store(to: buffer, at: 18)
    targetIP.store(to: buffer, at: 24)
  }
}
