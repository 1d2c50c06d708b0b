// Host tests of ARP (RFC 826) in the stack: the exact reply to a request
// for our address, what may and may not enter the cache (bogus MACs,
// gratuitous replies, our own address, strangers), expiry and the bounded
// cache, and the wait queue on a miss: its request, retries, release on
// reply, and its bounds.
import XCTest

@testable import LibOSNet

final class NetARPTests: XCTestCase {
  func testAnswersARequestForOurAddressExactly() throws {
    var stack = Net.stack()
    stack.receive(Net.arpFrame(op: 1), now: 0)
    let reply = try XCTUnwrap(stack.link.device.frames.first)
    var expected = Net.ethernet(
      dst: Net.peerMAC, src: Net.ourMAC, type: 0x0806,
      Net.arp(op: 2, senderMAC: Net.ourMAC, senderIP: Net.ourIP, targetMAC: Net.peerMAC, targetIP: Net.peerIP))
    expected += [UInt8](repeating: 0, count: 60 - expected.count)
    XCTAssertEqual(reply, expected)
    XCTAssertEqual(stack.link.cachedMAC(for: Net.peerIP), Net.peerMAC, "the asker is learned (RFC 826)")
    XCTAssertEqual(stack.counters.arpRepliesSent, 1)
    XCTAssertEqual(stack.counters.arpProcessed, 1)
  }

  func testRequestsForOthersAreNotAnsweredOrLearned() {
    var stack = Net.stack()
    stack.receive(Net.arpFrame(op: 1, targetIP: Net.otherIP), now: 0)
    XCTAssertEqual(stack.link.device.frames.count, 0)
    XCTAssertNil(stack.link.cachedMAC(for: Net.peerIP))
    XCTAssertEqual(stack.counters.arpIgnored, 1)
  }

  /// No packet can put a broadcast, multicast or zero MAC in the cache,
  /// or teach us a host outside our subnet (a claim to our own address is
  /// a conflict, tested below).
  func testBogusSendersAreIgnored() {
    var stack = Net.stack()
    let bogus: [(MACAddress, IPv4Address)] = [
      (.broadcast, Net.peerIP), (MACAddress(0x01, 0, 0x5e, 0, 0, 1), Net.peerIP), (.zero, Net.peerIP),
      (Net.ourMAC, Net.peerIP), (Net.peerMAC, IPv4Address(10, 0, 2, 255)),
      (Net.peerMAC, IPv4Address(192, 168, 1, 1)), (Net.peerMAC, IPv4Address(224, 0, 0, 5)),
      (Net.peerMAC, .broadcast),
    ]
    for (mac, ip) in bogus {
      stack.receive(Net.arpFrame(op: 1, senderMAC: mac, senderIP: ip), now: 0)
      stack.receive(
        Net.arpFrame(op: 2, senderMAC: mac, senderIP: ip, targetMAC: Net.ourMAC, ethDst: Net.ourMAC), now: 0)
    }
    XCTAssertEqual(stack.counters.arpIgnored, UInt64(bogus.count * 2))
    XCTAssertEqual(stack.link.device.frames.count, 0)
    XCTAssertEqual(stack.link.arp.count, 0)
  }

  /// A gratuitous reply (sender = target, broadcast) may refresh an entry we
  /// hold, with a real MAC; it never creates one, and garbage never replaces one.
  func testGratuitousRepliesOnlyRefreshRealEntries() {
    var stack = Net.stack()
    let announce = { (mac: MACAddress, ip: IPv4Address) in
      Net.arpFrame(op: 2, senderMAC: mac, senderIP: ip, targetMAC: .broadcast, targetIP: ip)
    }
    stack.receive(announce(Net.otherMAC, Net.otherIP), now: 0)
    XCTAssertNil(stack.link.cachedMAC(for: Net.otherIP), "not created")
    Net.introducePeer(&stack)
    let moved = MACAddress(0x02, 0, 0, 0, 0, 0x77)
    stack.receive(announce(moved, Net.peerIP), now: 1)
    XCTAssertEqual(stack.link.cachedMAC(for: Net.peerIP), moved, "refreshed: the host changed its card")
    stack.receive(announce(.broadcast, Net.peerIP), now: 2)
    stack.receive(announce(.zero, Net.peerIP), now: 2)
    XCTAssertEqual(stack.link.cachedMAC(for: Net.peerIP), moved, "garbage ignored")
  }

  /// RFC 5227 §2.4 (c): another MAC claiming our address, by request,
  /// reply or announcement, is answered by one broadcast announcement of
  /// ours, at most once per DEFEND_INTERVAL; the claim is never learned
  /// or answered, and a claim in our own MAC is not a conflict.
  func testAConflictingClaimIsDefendedOncePerInterval() throws {
    var stack = Net.stack()
    let claims = [
      Net.arpFrame(op: 1, senderMAC: Net.otherMAC, senderIP: Net.ourIP, targetIP: Net.peerIP),
      Net.arpFrame(op: 2, senderMAC: Net.otherMAC, senderIP: Net.ourIP, targetMAC: .broadcast, targetIP: Net.ourIP),
      Net.arpFrame(op: 1, senderMAC: Net.peerMAC, senderIP: Net.ourIP, targetIP: Net.ourIP),
    ]
    stack.receive(claims[0], now: 5_000_000)
    XCTAssertEqual(stack.link.device.frames.count, 1)
    var expected = Net.ethernet(
      dst: .broadcast, src: Net.ourMAC, type: 0x0806,
      Net.arp(op: 1, senderMAC: Net.ourMAC, senderIP: Net.ourIP, targetMAC: .zero, targetIP: Net.ourIP))
    expected += [UInt8](repeating: 0, count: 60 - expected.count)
    XCTAssertEqual(stack.link.device.frames.first, expected, "an announcement of our address")
    stack.receive(claims[1], now: 5_000_001)
    stack.receive(claims[2], now: 14_999_999)
    XCTAssertEqual(stack.link.device.frames.count, 1, "no second defence within 10 s")
    stack.receive(claims[1], now: 15_000_000)
    XCTAssertEqual(stack.link.device.frames.count, 2, "defended again once the interval passed")
    XCTAssertEqual(stack.link.device.frames.last, expected)
    XCTAssertEqual(stack.counters.arpConflicts, 4)
    XCTAssertEqual(stack.counters.arpDefences, 2)
    XCTAssertEqual(stack.counters.arpRepliesSent, 0, "a claim is never answered")
    XCTAssertEqual(stack.link.arp.count, 0, "and nothing is learned from it")
    XCTAssertEqual(stack.counters.framesAccounted, stack.counters.framesIn)

    var quiet = Net.stack()
    quiet.receive(Net.arpFrame(op: 2, senderMAC: Net.ourMAC, senderIP: Net.ourIP, targetIP: Net.ourIP), now: 0)
    XCTAssertEqual(quiet.counters.arpConflicts, 0, "our own announcement echoed back is no conflict")
    XCTAssertEqual(quiet.link.device.frames.count, 0)
  }

  /// RFC 5227 probe (sender address 0): answered so the prober sees the
  /// conflict, but nothing is cached.
  func testProbeIsAnsweredButNotCached() throws {
    var stack = Net.stack()
    stack.receive(Net.arpFrame(op: 1, senderIP: .any), now: 0)
    let reply = try XCTUnwrap(stack.link.device.frames.first)
    XCTAssertEqual(Net.macAt(reply, 0), Net.peerMAC)
    XCTAssertEqual(Net.ipAt(reply, 14 + 24), .any)
    XCTAssertEqual(stack.link.arp.count, 0)
  }

  func testNoAddressNoARP() {
    var stack = Net.stack(address: nil)
    stack.receive(Net.arpFrame(op: 1), now: 0)
    XCTAssertEqual(stack.link.device.frames.count, 0)
    XCTAssertEqual(stack.counters.arpIgnored, 1)
  }

  /// A send to an unknown neighbour asks for it and holds the datagram; the
  /// reply releases it, addressed to the MAC learned.
  func testMissQueuesThenReplyReleases() throws {
    var stack = Net.stack()
    let s = try stack.udpBind(port: 1000)
    try stack.udpSend(s, to: Net.otherIP, port: 9, [1, 2, 3], now: 50)
    XCTAssertEqual(stack.link.device.frames.count, 1)
    let request = stack.link.device.frames[0]
    var expected = Net.ethernet(
      dst: .broadcast, src: Net.ourMAC, type: 0x0806,
      Net.arp(op: 1, senderMAC: Net.ourMAC, senderIP: Net.ourIP, targetMAC: .zero, targetIP: Net.otherIP))
    expected += [UInt8](repeating: 0, count: 60 - expected.count)
    XCTAssertEqual(request, expected)
    try stack.udpSend(s, to: Net.otherIP, port: 9, [4, 5], now: 60)
    XCTAssertEqual(stack.link.device.frames.count, 1, "one request per address")
    XCTAssertEqual(stack.nextDeadline, 50 + 1_000_000)
    stack.link.device.frames.removeAll()
    stack.receive(
      Net.arpFrame(op: 2, senderMAC: Net.otherMAC, senderIP: Net.otherIP, targetMAC: Net.ourMAC, ethDst: Net.ourMAC),
      now: 100)
    let sent = stack.link.device.frames.compactMap { Net.sentIP($0) }
    XCTAssertEqual(sent.count, 2)
    XCTAssertEqual(sent.map(\.ethDst), [Net.otherMAC, Net.otherMAC])
    XCTAssertEqual(sent.map { Array($0.payload[8...]) }, [[1, 2, 3], [4, 5]], "in order")
    XCTAssertEqual(stack.link.cachedMAC(for: Net.otherIP), Net.otherMAC)
    XCTAssertNil(stack.nextDeadline)
    stack.link.device.frames.removeAll()
    try stack.udpSend(s, to: Net.otherIP, port: 9, [6], now: 200)
    XCTAssertEqual(
      Net.sentIP(try XCTUnwrap(stack.link.device.frames.first))?.ethDst, Net.otherMAC, "straight from the cache")
  }

  /// Unanswered: asked again every second up to three requests, then the
  /// held frames are dropped and counted.
  func testRetriesThenGivesUp() throws {
    var stack = Net.stack()
    let s = try stack.udpBind(port: 1000)
    try stack.udpSend(s, to: Net.otherIP, port: 9, [1], now: 0)
    try stack.udpSend(s, to: Net.otherIP, port: 9, [2], now: 0)
    stack.tick(now: 999_999)
    XCTAssertEqual(stack.counters.arpRequestsSent, 1)
    stack.tick(now: 1_000_000)
    XCTAssertEqual(stack.counters.arpRequestsSent, 2)
    XCTAssertEqual(stack.nextDeadline, 2_000_000)
    stack.tick(now: 2_000_000)
    XCTAssertEqual(stack.counters.arpRequestsSent, 3)
    stack.tick(now: 3_000_000)
    XCTAssertEqual(stack.counters.arpRequestsSent, 3)
    XCTAssertEqual(stack.counters.arpUnresolved, 2)
    XCTAssertNil(stack.nextDeadline)
    XCTAssertEqual(stack.link.device.frames.filter { Net.be16($0, 12) == 0x0800 }.count, 0)
    // A late reply is learned (it targets us) but finds nothing waiting.
    stack.receive(
      Net.arpFrame(op: 2, senderMAC: Net.otherMAC, senderIP: Net.otherIP, targetMAC: Net.ourMAC, ethDst: Net.ourMAC),
      now: 4_000_000)
    XCTAssertEqual(stack.link.cachedMAC(for: Net.otherIP), Net.otherMAC)
    XCTAssertEqual(stack.link.device.frames.filter { Net.be16($0, 12) == 0x0800 }.count, 0)
  }

  func testWaitQueueIsBounded() throws {
    var c = NetConfiguration()
    c.arpFramesPerAddress = 3
    c.arpPendingAddresses = 2
    var stack = Net.stack(configuration: c)
    let s = try stack.udpBind(port: 1000)
    for i in 0..<3 { try stack.udpSend(s, to: Net.otherIP, port: 9, [UInt8(i)], now: 0) }
    XCTAssertThrowsError(try stack.udpSend(s, to: Net.otherIP, port: 9, [3], now: 0)) {
      XCTAssertEqual($0 as? UDPError, .noBufferSpace)
    }
    // A datagram needing more frames than the queue holds is refused whole.
    XCTAssertThrowsError(
      try stack.udpSend(s, to: IPv4Address(10, 0, 2, 50), port: 9, [UInt8](repeating: 0, count: 5000), now: 0))
    try stack.udpSend(s, to: IPv4Address(10, 0, 2, 50), port: 9, [UInt8](repeating: 0, count: 3000), now: 0)
    XCTAssertThrowsError(try stack.udpSend(s, to: IPv4Address(10, 0, 2, 51), port: 9, [1], now: 0)) {
      XCTAssertEqual($0 as? UDPError, .noBufferSpace, "both pending slots busy")
    }
    XCTAssertEqual(stack.counters.arpQueueFull, 3)
    stack.receive(
      Net.arpFrame(
        op: 2, senderMAC: Net.otherMAC, senderIP: IPv4Address(10, 0, 2, 50), targetMAC: Net.ourMAC, ethDst: Net.ourMAC),
      now: 10)
    let fragments = stack.link.device.frames.compactMap { Net.be16($0, 12) == 0x0800 ? Net.sentIP($0) : nil }
    XCTAssertEqual(fragments.count, 3, "3008 bytes in three pieces")
    XCTAssertEqual(Set(fragments.map(\.id)).count, 1)
    try stack.udpSend(s, to: IPv4Address(10, 0, 2, 51), port: 9, [1], now: 20)
  }

  func testEntriesExpireAndTheCacheIsBounded() throws {
    var c = NetConfiguration()
    c.arpCacheEntries = 4
    c.arpLifetime = 1_000
    var stack = Net.stack(configuration: c)
    for i in 1...4 {
      Net.introducePeer(
        &stack, mac: MACAddress(2, 0, 0, 0, 1, UInt8(i)), ip: IPv4Address(10, 0, 2, UInt8(i)), now: UInt64(i))
    }
    XCTAssertEqual(stack.link.arp.count, 4)
    Net.introducePeer(&stack, mac: MACAddress(2, 0, 0, 0, 1, 5), ip: IPv4Address(10, 0, 2, 5), now: 10)
    XCTAssertEqual(stack.link.arp.count, 4)
    XCTAssertNil(stack.link.cachedMAC(for: IPv4Address(10, 0, 2, 1)), "the oldest went")
    XCTAssertEqual(stack.link.cachedMAC(for: IPv4Address(10, 0, 2, 5)), MACAddress(2, 0, 0, 0, 1, 5))
    // Expired: a send asks again instead of trusting it.
    stack.tick(now: 2_000)
    XCTAssertNil(stack.link.cachedMAC(for: IPv4Address(10, 0, 2, 5)))
    let s = try stack.udpBind(port: 1)
    try stack.udpSend(s, to: IPv4Address(10, 0, 2, 5), port: 9, [1], now: 2_000)
    XCTAssertEqual(stack.counters.arpRequestsSent, 1)
  }
}
