// Host tests of the DHCP client (RFC 2131) driven through the stack by
// recorded server replies shaped like QEMU's libslirp (offers and acks
// broadcast, 10.0.2.15 leased): the whole exchange with the exact fields
// of each request, retransmission with backoff when an offer is lost, NAK
// in REQUESTING and in RENEWING, renewal at T1, rebinding at T2 and the
// end of a lease, and replies that must be ignored.
import XCTest

@testable import LibOSNet

final class NetDHCPTests: XCTestCase {
  static let leased = IPv4Address(10, 0, 2, 15)
  static let server = Net.peerIP
  static let second: UInt64 = 1_000_000

  struct Sent {
    var ip: Net.SentIP
    var sport: UInt16
    var dport: UInt16
    var bootp: [UInt8]
    var xid: UInt32 { Net.be32(bootp, 4) }
    var secs: UInt16 { Net.be16(bootp, 8) }
    var flags: UInt16 { Net.be16(bootp, 10) }
    var ciaddr: IPv4Address { Net.ipAt(bootp, 12) }
    var options: [UInt8: [UInt8]] {
      var o: [UInt8: [UInt8]] = [:]
      var i = 240
      while i < bootp.count, bootp[i] != 255 {
        if bootp[i] == 0 {
          i += 1
          continue
        }
        let n = Int(bootp[i + 1])
        o[bootp[i]] = Array(bootp[(i + 2)..<(i + 2 + n)])
        i += 2 + n
      }
      return o
    }
    var type: UInt8? { options[53]?.first }
  }

  /// The DHCP message in a sent frame, with the UDP checksum verified.
  func dhcp(_ frame: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws -> Sent {
    let ip = try XCTUnwrap(Net.sentIP(frame, file: file, line: line), file: file, line: line)
    XCTAssertEqual(ip.proto, 17, file: file, line: line)
    XCTAssertEqual(
      Net.checksum(Net.pseudo(ip.src, ip.dst, 17, ip.payload.count) + ip.payload), 0, "UDP checksum", file: file,
      line: line)
    let bootp = Array(ip.payload[8...])
    XCTAssertGreaterThanOrEqual(bootp.count, 300, file: file, line: line)
    XCTAssertEqual(Array(bootp[0..<3]), [1, 1, 6], "BOOTREQUEST over Ethernet", file: file, line: line)
    XCTAssertEqual(Net.macAt(bootp, 28), Net.ourMAC, "chaddr", file: file, line: line)
    XCTAssertEqual(Array(bootp[236..<240]), [99, 130, 83, 99], file: file, line: line)
    return Sent(ip: ip, sport: Net.be16(ip.payload, 0), dport: Net.be16(ip.payload, 2), bootp: bootp)
  }

  /// A server reply, broadcast as libslirp sends it.
  static func reply(
    type: UInt8, xid: UInt32, yiaddr: IPv4Address = leased, server: IPv4Address? = server, lease: UInt32? = 86400,
    mask: IPv4Address? = IPv4Address(255, 255, 255, 0), router: IPv4Address? = Net.peerIP,
    dns: IPv4Address? = IPv4Address(10, 0, 2, 3), t1: UInt32? = nil, t2: UInt32? = nil, chaddr: MACAddress = Net.ourMAC,
    to destination: IPv4Address = .broadcast
  ) -> [UInt8] {
    var m = [UInt8](repeating: 0, count: 236)
    m[0] = 2
    m[1] = 1
    m[2] = 6
    m.replaceSubrange(4..<8, with: Net.u32(xid))
    m.replaceSubrange(16..<20, with: Net.ip(yiaddr))
    m.replaceSubrange(20..<24, with: Net.ip(Self.server))
    m.replaceSubrange(28..<34, with: Net.mac(chaddr))
    m += [99, 130, 83, 99, 53, 1, type]
    if let server { m += [54, 4] + Net.ip(server) }
    if let lease { m += [51, 4] + Net.u32(lease) }
    if let t1 { m += [58, 4] + Net.u32(t1) }
    if let t2 { m += [59, 4] + Net.u32(t2) }
    if let mask { m += [1, 4] + Net.ip(mask) }
    if let router { m += [3, 4] + Net.ip(router) }
    if let dns { m += [6, 4] + Net.ip(dns) }
    m += [255]
    m += [UInt8](repeating: 0, count: max(0, 300 - m.count))
    return Net.udpFrame(
      src: Self.server, dst: destination, sport: 67, dport: 68, m,
      ethDst: destination == .broadcast ? .broadcast : Net.ourMAC)
  }

  /// The frames sent since the last call.
  func take(_ stack: inout TestStack) -> [[UInt8]] {
    defer { stack.link.device.frames.removeAll() }
    return stack.link.device.frames
  }

  /// The DHCP messages sent since the last call, playing the server's part
  /// in ARP: a request for the server's address is answered, which
  /// releases the unicast message that waited for it.
  func messages(_ stack: inout TestStack, now: UInt64) throws -> [Sent] {
    var out: [Sent] = []
    for f in take(&stack) {
      if Net.be16(f, 12) == 0x0806 {
        XCTAssertEqual(Net.ipAt(f, 14 + 24), Self.server, "only the server is asked for")
        stack.receive(
          Net.arpFrame(op: 2, senderIP: Self.server, targetMAC: Net.ourMAC, targetIP: Self.leased, ethDst: Net.ourMAC),
          now: now)
        out += try take(&stack).map { try dhcp($0) }
      } else {
        out.append(try dhcp(f))
      }
    }
    return out
  }

  /// DISCOVER, OFFER, REQUEST, ACK at times 0, 1 ms, 2 ms; returns the stack bound.
  func bound(lease: UInt32 = 86400, t1: UInt32? = nil, t2: UInt32? = nil) throws -> TestStack {
    var stack = Net.stack(address: nil)
    stack.tick(now: 0)
    let discover = try dhcp(try XCTUnwrap(take(&stack).first))
    stack.receive(Self.reply(type: 2, xid: discover.xid, lease: lease), now: 1_000)
    let request = try dhcp(try XCTUnwrap(take(&stack).first))
    stack.receive(Self.reply(type: 5, xid: request.xid, lease: lease, t1: t1, t2: t2), now: 2_000)
    XCTAssertEqual(stack.address, Self.leased)
    return stack
  }

  func testExchangeLikeSlirp() throws {
    var stack = Net.stack(address: nil)
    XCTAssertNil(stack.address)
    XCTAssertEqual(stack.nextDeadline, 0, "the first DISCOVER is due at once")
    stack.tick(now: 0)
    var frames = take(&stack)
    XCTAssertEqual(frames.count, 1)
    let discover = try dhcp(frames[0])
    XCTAssertEqual(discover.ip.ethDst, .broadcast)
    XCTAssertEqual(Net.macAt(frames[0], 6), Net.ourMAC)
    XCTAssertEqual(discover.ip.src, .any)
    XCTAssertEqual(discover.ip.dst, .broadcast)
    XCTAssertEqual([discover.sport, discover.dport], [68, 67])
    XCTAssertEqual(discover.type, 1)
    XCTAssertEqual(discover.flags, 0x8000, "broadcast flag")
    XCTAssertEqual(discover.ciaddr, .any)
    XCTAssertEqual(discover.options[61], [1] + Net.mac(Net.ourMAC))
    XCTAssertTrue([1, 3, 6, 51].allSatisfy { discover.options[55]?.contains($0) ?? false })
    XCTAssertNil(discover.options[50])
    XCTAssertEqual(stack.nextDeadline, 4 * Self.second)

    stack.receive(Self.reply(type: 2, xid: discover.xid), now: 1_000)
    frames = take(&stack)
    let request = try dhcp(try XCTUnwrap(frames.first))
    XCTAssertEqual(request.type, 3)
    XCTAssertEqual(request.xid, discover.xid, "the offer's xid (RFC 2131 table 5)")
    XCTAssertEqual(request.options[50], Net.ip(Self.leased))
    XCTAssertEqual(request.options[54], Net.ip(Self.server))
    XCTAssertEqual(request.ciaddr, .any)
    XCTAssertEqual(request.flags, 0x8000)
    XCTAssertEqual(request.ip.dst, .broadcast)
    XCTAssertNil(stack.address, "not before the ACK")

    stack.receive(Self.reply(type: 5, xid: request.xid), now: 2_000)
    XCTAssertEqual(stack.address, Self.leased)
    XCTAssertEqual(stack.link.gateway, Net.peerIP)
    XCTAssertEqual(stack.link.netmask, IPv4Address(255, 255, 255, 0))
    XCTAssertEqual(stack.dhcp?.lease?.dnsServer, IPv4Address(10, 0, 2, 3))
    XCTAssertEqual(stack.dhcp?.state, .bound)
    XCTAssertEqual(stack.nextDeadline, 2_000 + 43_200 * Self.second, "T1 is half the lease")
    XCTAssertEqual(stack.counters.dhcpIn, 2)

    // The address now works: ARP answers for it and UDP reaches it.
    let s = try stack.udpBind(port: 7)
    stack.receive(Net.arpFrame(op: 1, targetIP: Self.leased), now: 3_000)
    XCTAssertEqual(take(&stack).count, 1)
    stack.receive(Net.udpFrame(dst: Self.leased, dport: 7, [1]), now: 3_000)
    XCTAssertEqual(stack.udpReceive(s)?.2, [1])

    // T1: a unicast REQUEST to the server, from our address, with ciaddr
    // and no server id; the server's ARP entry has long expired, so it is
    // asked for first.
    let t1 = 2_000 + 43_200 * Self.second
    stack.tick(now: t1)
    XCTAssertEqual(stack.link.device.frames.map { Net.be16($0, 12) }, [0x0806])
    let renew = try XCTUnwrap(try messages(&stack, now: t1).first)
    XCTAssertEqual(stack.dhcp?.state, .renewing)
    XCTAssertEqual(renew.type, 3)
    XCTAssertEqual(renew.ip.src, Self.leased)
    XCTAssertEqual(renew.ip.dst, Self.server)
    XCTAssertEqual(renew.ip.ethDst, Net.peerMAC, "the server, learned from its ARP")
    XCTAssertEqual(renew.ciaddr, Self.leased)
    XCTAssertEqual(renew.flags, 0)
    XCTAssertNil(renew.options[50])
    XCTAssertNil(renew.options[54])
    XCTAssertNotEqual(renew.xid, request.xid, "a new transaction")
    stack.receive(Self.reply(type: 5, xid: renew.xid, to: Self.leased), now: t1 + 5)
    XCTAssertEqual(stack.dhcp?.state, .bound)
    XCTAssertEqual(stack.address, Self.leased)
    XCTAssertEqual(stack.nextDeadline, t1 + 5 + 43_200 * Self.second)
    stack.assertCountersAddUp()
  }

  func testLostOfferIsRetransmittedWithBackoff() throws {
    var stack = Net.stack(address: nil)
    var times: [UInt64] = []
    var xids: Set<UInt32> = []
    var now: UInt64 = 0
    for _ in 0..<8 {
      stack.tick(now: now)
      let discover = try dhcp(try XCTUnwrap(take(&stack).first))
      XCTAssertEqual(discover.type, 1)
      XCTAssertEqual(UInt64(discover.secs), now / Self.second, "seconds since it began")
      xids.insert(discover.xid)
      times.append(now / Self.second)
      now = try XCTUnwrap(stack.nextDeadline)
      stack.tick(now: now - 1)
      XCTAssertTrue(take(&stack).isEmpty, "nothing before the deadline")
    }
    XCTAssertEqual(times, [0, 4, 12, 28, 60, 124, 188, 252], "4 s doubling to at most 64 s")
    XCTAssertEqual(xids.count, 1, "retransmissions keep the xid")
    stack.receive(Self.reply(type: 2, xid: try XCTUnwrap(xids.first)), now: now)
    let request = try dhcp(try XCTUnwrap(take(&stack).first))
    stack.receive(Self.reply(type: 5, xid: request.xid), now: now + 1)
    XCTAssertEqual(stack.address, Self.leased)
  }

  /// An unanswered REQUEST is retransmitted four times, then the client starts over.
  func testUnansweredRequestStartsOver() throws {
    var stack = Net.stack(address: nil)
    stack.tick(now: 0)
    let discover = try dhcp(try XCTUnwrap(take(&stack).first))
    stack.receive(Self.reply(type: 2, xid: discover.xid), now: 0)
    var types: [UInt8] = [try XCTUnwrap(try dhcp(try XCTUnwrap(take(&stack).first)).type)]
    for _ in 0..<5 {
      stack.tick(now: try XCTUnwrap(stack.nextDeadline))
      types.append(try XCTUnwrap(try dhcp(try XCTUnwrap(take(&stack).first)).type))
    }
    XCTAssertEqual(types, [3, 3, 3, 3, 3, 1])
    XCTAssertEqual(stack.dhcp?.state, .selecting)
  }

  func testNAKWhileRequestingRestarts() throws {
    var stack = Net.stack(address: nil)
    stack.tick(now: 0)
    let discover = try dhcp(try XCTUnwrap(take(&stack).first))
    stack.receive(Self.reply(type: 2, xid: discover.xid), now: 10)
    let request = try dhcp(try XCTUnwrap(take(&stack).first))
    stack.receive(Self.reply(type: 6, xid: request.xid, lease: nil, mask: nil, router: nil, dns: nil), now: 20)
    XCTAssertNil(stack.address)
    let again = try dhcp(try XCTUnwrap(take(&stack).first))
    XCTAssertEqual(again.type, 1, "back to DISCOVER at once")
    XCTAssertNotEqual(again.xid, discover.xid)
    XCTAssertEqual(again.secs, 0)
    stack.receive(Self.reply(type: 2, xid: again.xid, yiaddr: IPv4Address(10, 0, 2, 16)), now: 30)
    let second = try dhcp(try XCTUnwrap(take(&stack).first))
    stack.receive(Self.reply(type: 5, xid: second.xid, yiaddr: IPv4Address(10, 0, 2, 16)), now: 40)
    XCTAssertEqual(stack.address, IPv4Address(10, 0, 2, 16))
  }

  func testNAKWhileRenewingDropsTheAddress() throws {
    var stack = try bound()
    let t1 = try XCTUnwrap(stack.nextDeadline)
    stack.tick(now: t1)
    let renew = try XCTUnwrap(try messages(&stack, now: t1).first)
    stack.receive(Self.reply(type: 6, xid: renew.xid, lease: nil, to: Self.leased), now: 50 * Self.second * 1000)
    XCTAssertNil(stack.address)
    XCTAssertEqual(try dhcp(try XCTUnwrap(take(&stack).first)).type, 1)
    XCTAssertEqual(stack.dhcp?.state, .selecting)
  }

  /// Unanswered renewals: unicast until T2, broadcast until the end, then
  /// the address goes and DISCOVER starts again. Waits are half the time
  /// left, at least 60 s (RFC 2131 §4.4.5).
  func testRenewRebindAndExpiry() throws {
    var stack = try bound(lease: 1000)
    var log: [(UInt64, IPv4Address, UInt8)] = []
    var now = try XCTUnwrap(stack.nextDeadline)
    XCTAssertEqual(now, 2_000 + 500 * Self.second)
    while stack.address != nil {
      stack.tick(now: now)
      for m in try messages(&stack, now: now) {
        log.append(((now - 2_000) / 1_000, m.ip.dst, try XCTUnwrap(m.type)))
      }
      now = try XCTUnwrap(stack.nextDeadline)
      XCTAssertLessThan(log.count, 20)
      if log.count >= 20 { break }
    }
    let ms = log.map(\.0)
    XCTAssertEqual(ms, [500_000, 687_500, 781_250, 841_250, 875_000, 937_500, 997_500, 1_000_000])
    XCTAssertEqual(
      log.map(\.1),
      [Self.server, Self.server, Self.server, Self.server] + [IPv4Address](repeating: .broadcast, count: 4))
    XCTAssertEqual(log.map(\.2), [3, 3, 3, 3, 3, 3, 3, 1])
    XCTAssertEqual(stack.dhcp?.state, .selecting)
    XCTAssertNil(stack.dhcp?.lease)
  }

  /// A rebinding ACK from any server keeps the address.
  func testRebindingAckKeepsTheAddress() throws {
    var stack = try bound(lease: 1000, t1: 100, t2: 200)
    stack.tick(now: 2_000 + 100 * Self.second)
    stack.tick(now: 2_000 + 200 * Self.second)
    XCTAssertEqual(stack.dhcp?.state, .rebinding)
    let frames = take(&stack).filter { Net.be16($0, 12) == 0x0800 }
    let rebind = try dhcp(try XCTUnwrap(frames.last))
    XCTAssertEqual(rebind.ip.dst, .broadcast)
    XCTAssertEqual(rebind.ciaddr, Self.leased)
    stack.receive(
      Self.reply(type: 5, xid: rebind.xid, server: IPv4Address(10, 0, 2, 4), lease: 1000),
      now: 2_000 + 201 * Self.second)
    XCTAssertEqual(stack.dhcp?.state, .bound)
    XCTAssertEqual(stack.address, Self.leased)
    XCTAssertEqual(stack.dhcp?.lease?.server, IPv4Address(10, 0, 2, 4))
    // The next renewal goes to the server that answered.
    stack.tick(now: try XCTUnwrap(stack.dhcp?.lease?.renewAt))
    let asked = take(&stack).filter { Net.be16($0, 12) == 0x0806 }.map { Net.ipAt($0, 14 + 24) }
    XCTAssertTrue(asked.contains(IPv4Address(10, 0, 2, 4)), "\(asked)")
  }

  func testRepliesThatMustBeIgnored() throws {
    var stack = Net.stack(address: nil)
    stack.tick(now: 0)
    let discover = try dhcp(try XCTUnwrap(take(&stack).first))
    let bad: [[UInt8]] = [
      Self.reply(type: 2, xid: discover.xid &+ 1),
      Self.reply(type: 2, xid: discover.xid, chaddr: Net.otherMAC),
      Self.reply(type: 5, xid: discover.xid),  // an ACK while selecting
      Self.reply(type: 2, xid: discover.xid, server: nil),
      Self.reply(type: 2, xid: discover.xid, yiaddr: .any),
      Self.reply(type: 2, xid: discover.xid, yiaddr: IPv4Address(224, 0, 0, 1)),
      Self.reply(type: 2, xid: discover.xid, yiaddr: IPv4Address(127, 0, 0, 1)),
    ]
    for frame in bad { stack.receive(frame, now: 1) }
    XCTAssertEqual(stack.dhcp?.ignored, UInt64(bad.count))
    XCTAssertEqual(stack.dhcp?.state, .selecting)
    XCTAssertTrue(take(&stack).isEmpty)
    stack.receive(Self.reply(type: 2, xid: discover.xid), now: 2)
    let request = try dhcp(try XCTUnwrap(take(&stack).first))
    // An ACK from another server, or without a lease time, is not taken.
    stack.receive(Self.reply(type: 5, xid: request.xid, server: IPv4Address(10, 0, 2, 9)), now: 3)
    stack.receive(Self.reply(type: 5, xid: request.xid, lease: nil), now: 3)
    stack.receive(Self.reply(type: 5, xid: request.xid, lease: 0), now: 3)
    XCTAssertNil(stack.address)
    XCTAssertEqual(stack.dhcp?.ignored, UInt64(bad.count + 3))
    stack.assertCountersAddUp()
  }

  /// Where the server leaves out the mask or router, the stack's own are
  /// used; an infinite lease sets no timer.
  func testFallbacksAndInfiniteLease() throws {
    var stack = TestStack(
      device: NetRecordingDevice(mac: Net.ourMAC), address: nil, netmask: IPv4Address(255, 255, 0, 0),
      gateway: IPv4Address(10, 0, 0, 1))
    stack.tick(now: 0)
    let discover = try dhcp(try XCTUnwrap(take(&stack).first))
    stack.receive(Self.reply(type: 2, xid: discover.xid, mask: nil, router: nil), now: 1)
    let request = try dhcp(try XCTUnwrap(take(&stack).first))
    stack.receive(Self.reply(type: 5, xid: request.xid, lease: 0xffff_ffff, mask: nil, router: nil), now: 2)
    XCTAssertEqual(stack.address, Self.leased)
    XCTAssertEqual(stack.link.netmask, IPv4Address(255, 255, 0, 0))
    XCTAssertEqual(stack.link.gateway, IPv4Address(10, 0, 0, 1))
    XCTAssertNil(stack.dhcp?.lease?.renewAt)
    XCTAssertNil(stack.nextDeadline)
  }

  /// T1 and T2 from the server are used when they make sense, else the defaults.
  func testServerTimers() throws {
    var stack = try bound(lease: 1000, t1: 300, t2: 600)
    XCTAssertEqual(stack.nextDeadline, 2_000 + 300 * Self.second)
    XCTAssertEqual(stack.dhcp?.lease?.rebindAt, 2_000 + 600 * Self.second)
    stack = try bound(lease: 1000, t1: 900, t2: 600)
    XCTAssertEqual(stack.nextDeadline, 2_000 + 500 * Self.second)
    XCTAssertEqual(stack.dhcp?.lease?.rebindAt, 2_000 + 875 * Self.second)
  }
}
