// The ownership proof: the kernel binds a filter to an env only if every frame
// the filter can match is addressed to that env's (MAC, IPv4) pair from its
// boot configuration. Also the three filters a network libOS binds, written
// once here so that the libOS and the tests build exactly what the proof accepts.

extension PacketFilter {
  /// Whether the filter's atoms (read byte by byte, full masks only) imply one of:
  /// (a) Ethernet destination == `mac`;
  /// (b) destination broadcast, ethertype ARP, ARP target protocol address
  ///     (frame bytes 38..41, RFC 826) == `ipv4`;
  /// (c) destination broadcast, ethertype IPv4, protocol UDP, UDP destination
  ///     port 68, BOOTP chaddr (IP payload 8 + 28, RFC 2131 §2) == `mac`:
  ///     a DHCP server may broadcast its replies.
  /// `mac` holds 48 bits, first byte most significant; `ipv4` is in host order.
  /// A group MAC (multicast or broadcast) proves nothing: with it (a) would
  /// claim every env's broadcast frames.
  public func provesOwnership(mac: UInt64, ipv4: UInt32) -> Bool {
    guard mac >> 48 == 0, Self.macByte(mac, 0) & 1 == 0 else { return false }
    let bytes = FilterBytes(self)
    func pinsMAC(_ base: FilterBase, at offset: Int, _ mac: UInt64) -> Bool {
      for i in 0..<6 where !bytes.pins(base, offset + i, Self.macByte(mac, i)) { return false }
      return true
    }
    if pinsMAC(.frame, at: 0, mac) { return true }
    guard pinsMAC(.frame, at: 0, Self.broadcast), bytes.pins(.frame, 12, 0x08) else { return false }
    if bytes.pins(.frame, 13, 0x06) {
      for i in 0..<4 where !bytes.pins(.frame, 38 + i, UInt8(truncatingIfNeeded: ipv4 >> (24 - 8 * UInt32(i)))) {
        return false
      }
      return true
    }
    return bytes.pins(.frame, 13, 0x00) && bytes.pins(.frame, 23, 17)
      && bytes.pins(.ipPayload, 2, 0) && bytes.pins(.ipPayload, 3, 68)
      && pinsMAC(.ipPayload, at: 36, mac)
  }

  static let broadcast: UInt64 = 0xffff_ffff_ffff

  static func macByte(_ mac: UInt64, _ i: Int) -> UInt8 {
    UInt8(truncatingIfNeeded: mac >> UInt64(40 - 8 * i))
  }

  /// Frames sent to `mac`: proof (a).
  public static func unicast(mac: UInt64) -> PacketFilter {
    var f = PacketFilter()
    f.append(FilterAtom(offset: 0, size: 4, equals: UInt32(truncatingIfNeeded: mac >> 16)))
    f.append(FilterAtom(offset: 4, size: 2, equals: UInt32(truncatingIfNeeded: mac & 0xffff)))
    return f
  }

  /// Broadcast ARP packets asking for `ipv4`: proof (b).
  public static func arpRequests(for ipv4: UInt32) -> PacketFilter {
    var f = broadcastFilter(ethertype: 0x0806)
    f.append(FilterAtom(offset: 38, size: 4, equals: ipv4))
    return f
  }

  /// Broadcast DHCP replies to the client `mac`: proof (c).
  public static func dhcpReplies(to mac: UInt64) -> PacketFilter {
    var f = broadcastFilter(ethertype: 0x0800)
    f.append(FilterAtom(offset: 23, size: 1, equals: 17))
    f.append(FilterAtom(base: .ipPayload, offset: 2, size: 2, equals: 68))
    f.append(FilterAtom(base: .ipPayload, offset: 36, size: 4, equals: UInt32(truncatingIfNeeded: mac >> 16)))
    f.append(FilterAtom(base: .ipPayload, offset: 40, size: 2, equals: UInt32(truncatingIfNeeded: mac & 0xffff)))
    return f
  }

  private static func broadcastFilter(ethertype: UInt32) -> PacketFilter {
    var f = PacketFilter()
    f.append(FilterAtom(offset: 0, size: 4, equals: 0xffff_ffff))
    f.append(FilterAtom(offset: 4, size: 2, equals: 0xffff))
    f.append(FilterAtom(offset: 12, size: 2, equals: ethertype))
    return f
  }

  /// For the fixed filters above, which are valid by construction (a test decodes each).
  private mutating func append(_ atom: FilterAtom) {
    atomStorage[count] = atom
    count += 1
  }
}
