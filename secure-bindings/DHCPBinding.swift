// How an env configured for DHCP (`dhcp=1`) gets the IPv4 half of its
// binding. The env cannot simply name an address: that would let it speak
// for anyone. The kernel instead reads the one authority there is, the DHCP
// server's DHCPACK (RFC 2131 §3.1 step 5) as it arrives from the wire for
// the env's MAC, in answer to the env's own latest request (the same
// `xid`, which the kernel notes from the env's outgoing DISCOVER/REQUEST),
// and binds the address it assigns (`yiaddr`). An unsolicited ACK changes
// nothing. Everything here checks bounds before it reads: frames come
// from outside, or from an untrusted env.

public enum DHCPBinding {
  /// The address a DHCPACK in `frame` assigns to the client with `mac`
  /// (48 bits, first byte most significant) in answer to transaction `xid`,
  /// or nil when the frame is not a well-formed such DHCPACK or the address
  /// is not a usable unicast one.
  public static func leasedAddress(in frame: UnsafeRawBufferPointer, mac: UInt64, xid: UInt32) -> UInt32? {
    guard let bootp = bootp(in: frame, from: 67, to: 68, op: 2) else { return nil }
    let frame = datagram(frame)
    guard frame.count >= bootp + 240, word32(frame, bootp + 4) == xid, word32(frame, bootp + 236) == 0x6382_5363
    else { return nil }
    for i in 0..<6 where frame[bootp + 28 + i] != UInt8(truncatingIfNeeded: mac >> (40 - 8 * UInt64(i))) {
      return nil
    }
    guard messageType(frame, from: bootp + 240) == 5 else { return nil }  // DHCPACK
    let address = word32(frame, bootp + 16)
    guard isUsableUnicast(address) else { return nil }
    return address
  }

  /// The transaction id of a DHCP request the env sends (BOOTREQUEST from
  /// port 68 to 67), read from the frame's first bytes; nil for any other frame.
  public static func requestID(in frame: UnsafeRawBufferPointer) -> UInt32? {
    // The kernel has only a large frame's first bytes: no length check past them.
    guard let bootp = bootp(in: frame, from: 68, to: 67, op: 1, whole: false), frame.count >= bootp + 8 else {
      return nil
    }
    return word32(frame, bootp + 4)
  }

  /// Where BOOTP (RFC 951) starts in an Ethernet frame carrying an unfragmented
  /// IPv4 UDP datagram between the ports given, with the operation given and
  /// Ethernet hardware addresses; nil otherwise.
  private static func bootp(
    in frame: UnsafeRawBufferPointer, from source: UInt16, to destination: UInt16, op: UInt8, whole: Bool = true
  ) -> Int? {
    guard frame.count >= 14 + 20 + 8, word16(frame, 12) == 0x0800, frame[14] >> 4 == 4 else { return nil }
    let ipHeader = Int(frame[14] & 0x0f) * 4
    guard ipHeader >= 20, frame[23] == 17, word16(frame, 20) & 0x3fff == 0 else { return nil }
    // A datagram longer than the frame is a truncated one: nothing in it counts.
    let udp = 14 + ipHeader
    let total = Int(word16(frame, 16))
    guard total >= ipHeader + 8 + 3, !whole || 14 + total <= frame.count, frame.count >= udp + 8 + 3 else {
      return nil
    }
    guard word16(frame, udp) == source, word16(frame, udp + 2) == destination else { return nil }
    let bootp = udp + 8
    guard frame[bootp] == op, frame[bootp + 1] == 1, frame[bootp + 2] == 6 else { return nil }
    return bootp
  }

  /// The frame cut at the end of its IPv4 datagram (`bootp` checked that it fits).
  private static func datagram(_ frame: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: frame[0..<(14 + Int(word16(frame, 16)))])
  }

  /// Option 53 (RFC 2132 §9.6) from the options at `start`, or nil.
  private static func messageType(_ frame: UnsafeRawBufferPointer, from start: Int) -> UInt8? {
    var at = start
    while at < frame.count {
      let code = frame[at]
      if code == 0 {  // pad
        at += 1
        continue
      }
      if code == 255 { return nil }  // end
      guard at + 1 < frame.count else { return nil }
      let length = Int(frame[at + 1])
      guard at + 2 + length <= frame.count else { return nil }
      if code == 53 { return length == 1 ? frame[at + 2] : nil }
      at += 2 + length
    }
    return nil
  }

  /// Not 0.0.0.0/8, loopback, multicast, reserved or broadcast.
  public static func isUsableUnicast(_ address: UInt32) -> Bool {
    let first = address >> 24
    return first != 0 && first != 127 && first < 224
  }

  private static func word16(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt16 {
    UInt16(b[at]) << 8 | UInt16(b[at + 1])
  }

  private static func word32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
    UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
  }
}
