// Host tests of the network stack's parsers against malformed input at
// every layer: frame sizes, EtherTypes, ARP fields, every IPv4 header
// check (version, IHL, lengths, checksum, TTL, sources, options, fragment
// fields), UDP lengths and checksums, and a valid datagram cut at every
// length. Each bad input is dropped and counted under its own reason.
import XCTest

@testable import LibOSNet

final class NetParseTests: XCTestCase {
  func testEthernetFrameSizes() {
    var stack = Net.stack()
    stack.receive([UInt8](repeating: 0xff, count: 13), now: 0)
    stack.receive([], now: 0)
    XCTAssertEqual(stack.counters.ethernetMalformed, 2)
    // 1514 bytes is the largest frame; 1515 is malformed whatever it holds.
    let big = Net.udpFrame(dport: 9, [UInt8](repeating: 1, count: 1472))
    XCTAssertEqual(big.count, 1514)
    stack.receive(big, now: 0)
    XCTAssertEqual(stack.counters.udpNoSocket, 1)
    stack.receive(big + [0], now: 0)
    XCTAssertEqual(stack.counters.ethernetMalformed, 3)
    // A bare 14-byte header is a frame, of an unknown type.
    stack.receive(Net.ethernet(type: 0x1234, []), now: 0)
    XCTAssertEqual(stack.counters.ethernetUnknownType, 1)
    stack.assertCountersAddUp()
  }

  func testEthernetDestinationAndType() {
    var stack = Net.stack()
    let ip = Net.ipv4(proto: 17, Net.udp(sport: 1, dport: 9, [1]))
    stack.receive(Net.ethernet(dst: Net.otherMAC, type: 0x0800, ip), now: 0)
    stack.receive(Net.ethernet(dst: MACAddress(0x01, 0x00, 0x5e, 0, 0, 1), type: 0x0800, ip), now: 0)
    XCTAssertEqual(stack.counters.ethernetNotForUs, 2)
    stack.receive(Net.ethernet(type: 0x86dd, ip), now: 0)  // IPv6
    stack.receive(Net.ethernet(type: 0x8100, [0, 1, 8, 0] + ip), now: 0)  // an 802.1Q tag
    stack.receive(Net.ethernet(type: 0x0040, ip), now: 0)  // an 802.3 length
    XCTAssertEqual(stack.counters.ethernetUnknownType, 3)
    stack.receive(Net.ethernet(dst: .broadcast, type: 0x0800, ip), now: 0)
    XCTAssertEqual(stack.counters.udpNoSocket, 1, "a unicast datagram in a broadcast frame is still ours")
    stack.assertCountersAddUp()
  }

  func testMalformedARPIsDroppedAndCounted() {
    var stack = Net.stack()
    let good = Net.arp(op: 1)
    var cases: [[UInt8]] = [Array(good.prefix(27)), []]
    for (offset, value) in [
      (1, UInt8(6)), (2, UInt8(0x86)), (4, UInt8(8)), (5, UInt8(16)), (7, UInt8(3)), (7, UInt8(0)),
    ] {
      var bad = good
      bad[offset] = value
      cases.append(bad)
    }
    for payload in cases { stack.receive(Net.ethernet(dst: .broadcast, type: 0x0806, payload), now: 0) }
    XCTAssertEqual(stack.counters.arpMalformed, UInt64(cases.count))
    XCTAssertEqual(stack.link.device.frames.count, 0, "no reply to any of them")
    XCTAssertNil(stack.link.cachedMAC(for: Net.peerIP))
    // Padding after the 28 bytes (a 60-byte frame) is fine.
    stack.receive(Net.ethernet(dst: .broadcast, type: 0x0806, good + [UInt8](repeating: 0, count: 18)), now: 0)
    XCTAssertEqual(stack.counters.arpProcessed, 1)
    stack.assertCountersAddUp()
  }

  /// Each header fault, parsed directly and through the stack.
  func testIPv4HeaderChecks() {
    let good = Net.ipv4(proto: 17, Net.udp(sport: 1, dport: 9, [1, 2, 3, 4]))
    func reChecksum(_ h: inout [UInt8]) {
      let ihl = min(Int(h[0] & 0xf) * 4, h.count)
      guard ihl >= 12 else { return }
      h[10] = 0
      h[11] = 0
      let c = Net.checksum(Array(h[0..<ihl]))
      h[10] = UInt8(c >> 8)
      h[11] = UInt8(c & 0xff)
    }
    func with(_ change: (inout [UInt8]) -> Void, fix: Bool = true) -> [UInt8] {
      var h = good
      change(&h)
      if fix { reChecksum(&h) }
      return h
    }
    let cases: [(String, [UInt8], IPv4ParseError)] = [
      ("short", Array(good.prefix(19)), .truncated),
      ("version 6", with { $0[0] = 0x65 }, .badVersion),
      ("version 0", with { $0[0] = 0x05 }, .badVersion),
      ("IHL 4", with({ $0[0] = 0x44 }, fix: false), .badHeaderLength),
      ("IHL 0", with({ $0[0] = 0x40 }, fix: false), .badHeaderLength),
      ("IHL 15 past the packet", Array(with { $0[0] = 0x4f }.prefix(40)), .truncated),
      (
        "total below header",
        with {
          $0[2] = 0
          $0[3] = 19
        }, .badTotalLength
      ),
      (
        "total beyond frame",
        with {
          $0[2] = 0x05
          $0[3] = 0xdc
        }, .badTotalLength
      ),
      ("bad checksum", with({ $0[10] ^= 0x10 }, fix: false), .badChecksum),
      ("TTL 0", with { $0[8] = 0 }, .zeroTTL),
      ("multicast source", with { $0[12] = 224 }, .badSource),
      ("broadcast source", with { for i in 12..<16 { $0[i] = 255 } }, .badSource),
      ("loopback source", with { $0[12] = 127 }, .badSource),
      (
        "ping of death",
        with {
          $0[6] = 0x1f
          $0[7] = 0xff
        }, .badFragment
      ),
      ("MF piece not a multiple of 8", with { $0[6] = 0x20 }, .badFragment),
    ]
    for (name, bytes, expected) in cases {
      let result = bytes.withUnsafeBytes { b -> IPv4ParseError? in
        do throws(IPv4ParseError) {
          _ = try IPv4Header(parsing: b)
          return nil
        } catch { return error }
      }
      XCTAssertEqual(result, expected, name)
      var stack = Net.stack()
      _ = try? stack.udpBind(port: 9)
      stack.receive(Net.ethernet(type: 0x0800, bytes), now: 0)
      XCTAssertEqual(stack.counters.udpDelivered, 0, name)
      if expected == .badChecksum {
        XCTAssertEqual(stack.counters.ipBadChecksum, 1, name)
      } else {
        XCTAssertEqual(stack.counters.ipMalformed, 1, name)
      }
      stack.assertCountersAddUp(name)
    }
  }

  /// Options (IHL above 5) are skipped, whatever they hold; padding after
  /// the datagram (a short frame) is not payload; TTL 1 is fine for a host.
  func testIPv4OptionsPaddingAndTTLOne() throws {
    var stack = Net.stack()
    let s = try stack.udpBind(port: 9)
    for words in [1, 4, 10] {
      let options = [UInt8](repeating: 1, count: words * 4 - 1) + [0]  // NOPs, then end of list
      stack.receive(
        Net.ethernet(type: 0x0800, Net.ipv4(proto: 17, options: options, Net.udp(sport: 1, dport: 9, [UInt8(words)]))),
        now: 0)
      XCTAssertEqual(stack.udpReceive(s)?.2, [UInt8(words)], "IHL \(5 + words)")
    }
    stack.receive(
      Net.ethernet(type: 0x0800, Net.ipv4(proto: 17, ttl: 1, Net.udp(sport: 1, dport: 9, [42])) + [0, 0, 0, 0]), now: 0)
    XCTAssertEqual(stack.udpReceive(s)?.2, [42])
    stack.assertCountersAddUp()
  }

  func testIPv4DestinationsThatAreNotOurs() throws {
    var stack = Net.stack()
    let s = try stack.udpBind(port: 9)
    for dst in [Net.otherIP, IPv4Address(10, 0, 3, 100), IPv4Address(224, 0, 0, 1), IPv4Address(0, 0, 0, 0)] {
      stack.receive(
        Net.ethernet(
          dst: .broadcast, type: 0x0800, Net.ipv4(dst: dst, proto: 17, Net.udp(dst: dst, sport: 1, dport: 9, [1]))),
        now: 0)
    }
    XCTAssertEqual(stack.counters.ipNotForUs, 4)
    for dst in [IPv4Address.broadcast, IPv4Address(10, 0, 2, 255), Net.ourIP] {
      stack.receive(
        Net.ethernet(
          dst: .broadcast, type: 0x0800, Net.ipv4(dst: dst, proto: 17, Net.udp(dst: dst, sport: 1, dport: 9, [2]))),
        now: 0)
      XCTAssertEqual(stack.udpReceive(s)?.2, [2], "\(dst)")
    }
    // Our own address or our subnet's broadcast as a source: spoofed.
    for src in [Net.ourIP, IPv4Address(10, 0, 2, 255)] {
      stack.receive(
        Net.ethernet(type: 0x0800, Net.ipv4(src: src, proto: 17, Net.udp(src: src, sport: 1, dport: 9, [3]))), now: 0)
    }
    XCTAssertEqual(stack.counters.ipMalformed, 2)
    XCTAssertNil(stack.udpReceive(s))
    stack.assertCountersAddUp()
  }

  func testUDPHeaderChecks() throws {
    var stack = Net.stack()
    let s = try stack.udpBind(port: 9)
    let good = Net.udp(sport: 1, dport: 9, [1, 2, 3, 4, 5, 6])
    var shortLength = good
    shortLength[5] = 7  // below the header
    var longLength = good
    longLength[5] = 15  // past the IP payload
    for (bytes, counter) in [
      (Array(good.prefix(7)), \NetCounters.udpMalformed), (shortLength, \.udpMalformed), (longLength, \.udpMalformed),
    ] {
      let before = stack.counters[keyPath: counter]
      stack.receive(Net.ethernet(type: 0x0800, Net.ipv4(proto: 17, bytes)), now: 0)
      XCTAssertEqual(stack.counters[keyPath: counter], before + 1)
    }
    for i in 0..<good.count where i != 6 && i != 7 {
      var bad = good
      bad[i] ^= 0x01
      if i == 4 || i == 5 { continue }  // length changes are covered above
      stack.receive(Net.ethernet(type: 0x0800, Net.ipv4(proto: 17, bad)), now: 0)
    }
    XCTAssertEqual(stack.counters.udpBadChecksum, 10, "a flipped bit in the ports or the data fails the checksum")
    // A checksum computed for another destination address.
    let other = Net.udp(dst: Net.otherIP, sport: 1, dport: 9, [1])
    stack.receive(Net.ethernet(type: 0x0800, Net.ipv4(proto: 17, other)), now: 0)
    XCTAssertEqual(stack.counters.udpBadChecksum, 11, "the pseudo-header covers the addresses")
    XCTAssertNil(stack.udpReceive(s))
    stack.assertCountersAddUp()
  }

  /// A valid UDP frame cut at every length: nothing is delivered, nothing crashes, each cut counted once.
  func testEveryTruncationIsDroppedOnce() throws {
    var stack = Net.stack()
    let s = try stack.udpBind(port: 9)
    let frame = Net.udpFrame(dport: 9, (0..<40).map { UInt8($0) })
    for n in 0..<frame.count { stack.receive(Array(frame.prefix(n)), now: 0) }
    XCTAssertNil(stack.udpReceive(s))
    let c = stack.counters
    XCTAssertEqual(c.framesIn, UInt64(frame.count))
    XCTAssertEqual(c.ethernetMalformed, 14)
    XCTAssertEqual(c.ipMalformed + c.ipBadChecksum, UInt64(frame.count - 14))
    stack.receive(frame, now: 0)
    XCTAssertEqual(stack.udpReceive(s)?.2, (0..<40).map { UInt8($0) })
    stack.assertCountersAddUp()
  }

  func testDHCPReplyParsingRejectsBadOptions() {
    func reply(_ options: [UInt8], mac: MACAddress = Net.ourMAC, op: UInt8 = 2, cookie: [UInt8] = [99, 130, 83, 99])
      -> [UInt8]
    {
      var m = [UInt8](repeating: 0, count: 236)
      m[0] = op
      m[1] = 1
      m[2] = 6
      m[4...7] = [1, 2, 3, 4]
      for i in 0..<6 { m[28 + i] = Net.mac(mac)[i] }
      return m + cookie + options
    }
    func parse(_ bytes: [UInt8]) -> DHCPReply? { bytes.withUnsafeBytes { DHCPReply(parsing: $0, mac: Net.ourMAC) } }
    let ok = parse(
      reply([53, 1, 2, 0, 0, 54, 4, 10, 0, 2, 2, 3, 8, 10, 0, 2, 2, 1, 1, 1, 1, 51, 4, 0, 0, 1, 0, 255, 77]))
    XCTAssertEqual(ok?.messageType, 2)
    XCTAssertEqual(ok?.xid, 0x0102_0304)
    XCTAssertEqual(ok?.serverID, IPv4Address(10, 0, 2, 2))
    XCTAssertEqual(ok?.router, IPv4Address(10, 0, 2, 2))
    XCTAssertEqual(ok?.leaseSeconds, 256)
    XCTAssertNil(parse(reply([54, 4, 10, 0, 2, 2, 255])), "no message type")
    XCTAssertNil(parse(reply([53, 2, 2, 2, 255])), "type of length 2")
    XCTAssertNil(parse(reply([53, 1, 2, 54, 3, 10, 0, 2, 255])), "server id of length 3")
    XCTAssertNil(parse(reply([53, 1, 2, 3, 6, 1, 2, 3, 4, 5, 6, 255])), "router list not a multiple of 4")
    XCTAssertNil(parse(reply([53, 1, 2, 51, 4, 0, 0])), "option runs past the message")
    XCTAssertNil(parse(reply([53, 1, 2, 12])), "no length byte")
    XCTAssertNil(parse(reply([53, 1, 2], mac: Net.otherMAC)), "for another client")
    XCTAssertNil(parse(reply([53, 1, 2], op: 1)), "a request, not a reply")
    XCTAssertNil(parse(reply([53, 1, 2], cookie: [1, 2, 3, 4])), "no magic cookie")
    XCTAssertNil(parse(Array(reply([]).prefix(239))), "shorter than the fixed part")
    XCTAssertEqual(parse(reply([0, 0, 53, 1, 5]))?.messageType, 5, "pads skipped, the end option optional")
  }
}
