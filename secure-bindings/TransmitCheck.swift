// What the kernel checks in every frame an env sends (`net_send`) before the
// device sees it: the frame speaks for the env's own (MAC, IPv4) binding and
// nobody else's. Only IPv4 and ARP are let through; an env without an IPv4
// address yet (DHCP) may send IPv4 only from 0.0.0.0.

public enum TransmitVerdict: Equatable, Sendable {
  case allowed
  case badLength
  case spoofedMAC
  case spoofedIPv4
  case spoofedARP
  case unsupportedType
}

public enum TransmitCheck {
  public static let minimumFrame = 14
  public static let maximumFrame = 1514

  public static func check(_ frame: UnsafeRawBufferPointer, mac: UInt64, ipv4: UInt32) -> TransmitVerdict {
    guard frame.count >= minimumFrame, frame.count <= maximumFrame else { return .badLength }
    guard load48(frame, 6) == mac else { return .spoofedMAC }
    switch UInt16(frame[12]) << 8 | UInt16(frame[13]) {
    case 0x0800:
      guard frame.count >= 34 else { return .badLength }
      guard load32(frame, 26) == ipv4 else { return .spoofedIPv4 }
      return .allowed
    case 0x0806:
      guard frame.count >= 42 else { return .badLength }
      guard load48(frame, 22) == mac, load32(frame, 28) == ipv4 else { return .spoofedARP }
      return .allowed
    default:
      return .unsupportedType
    }
  }

  private static func load48(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
    var v: UInt64 = 0
    for i in 0..<6 { v = v << 8 | UInt64(b[at + i]) }
    return v
  }

  private static func load32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
    UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
  }
}
