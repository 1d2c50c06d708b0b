// DHCP messages (RFC 2131 §2, options from RFC 2132): the requests a
// client builds (DISCOVER, REQUEST) in the BOOTP layout, and the server
// replies it reads (OFFER, ACK, NAK) with every option bounds-checked.
// Only the options the client uses are read; others are skipped, and
// option overload (52) is not followed into `sname`/`file`.

public enum DHCPMessageType {
  public static let discover: UInt8 = 1
  public static let offer: UInt8 = 2
  public static let request: UInt8 = 3
  public static let decline: UInt8 = 4
  public static let ack: UInt8 = 5
  public static let nak: UInt8 = 6
  public static let release: UInt8 = 7
}

public enum DHCPPort {
  public static let server: UInt16 = 67
  public static let client: UInt16 = 68
}

/// A server's message, as far as a client needs it.
public struct DHCPReply: Equatable, Sendable {
  static let cookieOffset = 236
  static let optionsOffset = 240
  static let magicCookie: UInt32 = 0x6382_5363

  public var xid: UInt32
  public var yourAddress: IPv4Address
  public var messageType: UInt8
  public var serverID: IPv4Address?
  public var leaseSeconds: UInt32?
  public var renewalSeconds: UInt32?
  public var rebindingSeconds: UInt32?
  public var subnetMask: IPv4Address?
  public var router: IPv4Address?
  public var dnsServer: IPv4Address?

  /// The BOOTREPLY in `message` (a UDP payload) for the client with MAC
  /// `mac`, or nil when it is malformed, not a reply, or for another client.
  public init?(parsing message: UnsafeRawBufferPointer, mac: MACAddress) {
    guard message.count >= Self.optionsOffset, message[0] == 2, message[1] == 1, message[2] == 6,
      MACAddress(message, at: 28) == mac, message.be32(Self.cookieOffset) == Self.magicCookie
    else { return nil }
    xid = message.be32(4)
    yourAddress = IPv4Address(message, at: 16)
    var type: UInt8? = nil
    var i = Self.optionsOffset
    while i < message.count {
      let code = message[i]
      if code == 0 {
        i += 1
        continue
      }
      if code == 255 { break }
      guard i + 1 < message.count else { return nil }
      let length = Int(message[i + 1])
      let value = i + 2
      guard value + length <= message.count else { return nil }
      func address() -> IPv4Address? { length == 4 ? IPv4Address(message, at: value) : nil }
      switch code {
      case 53:
        guard length == 1 else { return nil }
        type = message[value]
      case 54:
        guard let a = address() else { return nil }
        serverID = a
      case 1:
        guard let a = address() else { return nil }
        subnetMask = a
      case 51, 58, 59:
        guard length == 4 else { return nil }
        let seconds = message.be32(value)
        if code == 51 {
          leaseSeconds = seconds
        } else if code == 58 {
          renewalSeconds = seconds
        } else {
          rebindingSeconds = seconds
        }
      case 3, 6:
        // A list of addresses; the first is the one used.
        guard length >= 4, length % 4 == 0 else { return nil }
        if code == 3 { router = IPv4Address(message, at: value) } else { dnsServer = IPv4Address(message, at: value) }
      default:
        break
      }
      i = value + length
    }
    guard let type else { return nil }
    messageType = type
  }
}

/// The client's messages.
enum DHCPRequestBuilder {
  /// BOOTP's minimum message (RFC 1542 §3.2.1): some relays drop shorter ones.
  static let size = 300

  /// Writes a client message into `buffer` (at least `size` bytes) and returns its length.
  static func build(
    into buffer: UnsafeMutableRawBufferPointer, type: UInt8, xid: UInt32, seconds: UInt16, mac: MACAddress,
    clientAddress: IPv4Address, requested: IPv4Address?, server: IPv4Address?, broadcast: Bool
  ) -> Int {
    for i in 0..<size { buffer[i] = 0 }
    buffer[0] = 1  // BOOTREQUEST
    buffer[1] = 1  // Ethernet
    buffer[2] = 6
    buffer.storeBE32(xid, at: 4)
    buffer.storeBE16(seconds, at: 8)
    buffer.storeBE16(broadcast ? 0x8000 : 0, at: 10)
    clientAddress.store(to: buffer, at: 12)
    mac.store(to: buffer, at: 28)
    buffer.storeBE32(DHCPReply.magicCookie, at: DHCPReply.cookieOffset)
    var i = DHCPReply.optionsOffset
    func option(_ code: UInt8, _ length: Int) -> Int {
      buffer[i] = code
      buffer[i + 1] = UInt8(length)
      defer { i += 2 + length }
      return i + 2
    }
    buffer[option(53, 1)] = type
    let client = option(61, 7)  // client identifier: hardware type, then the MAC
    buffer[client] = 1
    mac.store(to: buffer, at: client + 1)
    if let requested { requested.store(to: buffer, at: option(50, 4)) }
    if let server { server.store(to: buffer, at: option(54, 4)) }
    let list = option(55, 6)  // ask for: mask, router, DNS, lease, T1, T2
    buffer[list] = 1
    buffer[list + 1] = 3
    buffer[list + 2] = 6
    buffer[list + 3] = 51
    buffer[list + 4] = 58
    buffer[list + 5] = 59
    buffer[i] = 255
    return size
  }
}
