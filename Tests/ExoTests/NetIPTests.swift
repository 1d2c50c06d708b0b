// Host tests of IPv4 in the stack: fragment reassembly in order, reversed,
// shuffled, duplicated, overlapping, inconsistent, too big, with too many
// at once and with a missing piece timing out; fragmentation of what we
// send (offsets, flags, one identification, each piece a valid datagram);
// and routing (direct, through the gateway, broadcast, nowhere).
import XCTest

@testable import LibOSNet

final class NetIPTests: XCTestCase {
  private func reassemblyStack(maxSize: Int = 8192, slots: Int = 4) throws -> (TestStack, UDPSocket) {
    var c = NetConfiguration()
    c.reassemblyMaxSize = maxSize
    c.reassemblySlots = slots
    c.udpQueueBytes = 16384
    var stack = Net.stack(configuration: c)
    let s = try stack.udpBind(port: 7)
    return (stack, s)
  }

  private let data = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
  private var datagram: [UInt8] { Net.udp(sport: 9, dport: 7, data) }

  func testInOrderAndReversed() throws {
    for reversed in [false, true] {
      var (stack, s) = try reassemblyStack()
      var pieces = Net.fragments(datagram, piece: 1480)
      if reversed { pieces.reverse() }
      XCTAssertEqual(pieces.count, 3)
      for (i, p) in pieces.enumerated() {
        stack.receive(p, now: 0)
        XCTAssertEqual(stack.counters.ipReassembled, i == 2 ? 1 : 0)
      }
      XCTAssertTrue(stack.udpReceive(s)?.2 == data, "reversed \(reversed)")
      XCTAssertEqual(stack.reassemblingCount, 0)
      XCTAssertEqual(stack.counters.ipFragmentsHeld, 3)
      stack.assertCountersAddUp()
    }
  }

  /// Any cut into multiples of 8 (at least two pieces), any order, with
  /// duplicates: the same bytes. Duplicates that arrive after the datagram
  /// completed may complete a second copy (IP does not remove duplicate
  /// datagrams); every copy delivered is exact.
  func testShuffledWithDuplicatesProperty() throws {
    var random = SplitMix64(state: 42)
    for round in 0..<300 {
      var (stack, s) = try reassemblyStack()
      let payload = random.bytes(1 + random.below(4000))
      let whole = Net.udp(sport: 9, dport: 7, payload)
      let piece = 8 * (1 + random.below(min(185, (whole.count - 1) / 8)))  // at most 1480: one frame each
      var pieces = Net.fragments(whole, piece: piece, id: UInt16(round))
      XCTAssertGreaterThan(pieces.count, 1)
      let duplicates = random.below(4)
      for _ in 0..<duplicates { pieces.append(pieces[random.below(pieces.count)]) }
      for i in stride(from: pieces.count - 1, to: 0, by: -1) { pieces.swapAt(i, random.below(i + 1)) }
      for p in pieces { stack.receive(p, now: 0) }
      XCTAssertGreaterThanOrEqual(stack.counters.ipReassembled, 1, "round \(round)")
      XCTAssertEqual(stack.counters.udpDelivered, stack.counters.ipReassembled, "round \(round)")
      if duplicates == 0 { XCTAssertEqual(stack.counters.ipReassembled, 1, "round \(round)") }
      while let got = stack.udpReceive(s) { XCTAssertTrue(got.2 == payload, "round \(round)") }
      XCTAssertEqual(stack.counters.ipFragmentsHeld + stack.counters.ipFragmentsDropped, UInt64(pieces.count))
      XCTAssertEqual(stack.counters.reassemblyDiscarded, 0)
      stack.assertCountersAddUp("round \(round)")
    }
  }

  func testDuplicateKeepsTheFirstCopy() throws {
    var (stack, s) = try reassemblyStack()
    let pieces = Net.fragments(datagram, piece: 1480)
    stack.receive(pieces[0], now: 0)
    var forged = pieces[0]
    forged[forged.count - 1] ^= 0xff  // same offset and length, different bytes (header checksum unaffected)
    stack.receive(forged, now: 0)
    XCTAssertEqual(stack.counters.ipFragmentsDropped, 1)
    stack.receive(pieces[1], now: 0)
    stack.receive(pieces[2], now: 0)
    XCTAssertTrue(stack.udpReceive(s)?.2 == data, "the first copy won, so the checksum held")
    stack.assertCountersAddUp()
  }

  /// A piece that partly overlaps what is held discards the datagram (no
  /// mixed bytes); the sender's next, clean attempt reassembles.
  func testPartialOverlapDiscardsTheDatagram() throws {
    var (stack, s) = try reassemblyStack()
    let t = datagram
    let a = Net.ethernet(type: 0x0800, Net.ipv4(proto: 17, id: 5, mf: true, offset: 0, Array(t[0..<1480])))
    let overlapping = Net.ethernet(
      type: 0x0800, Net.ipv4(proto: 17, id: 5, mf: true, offset: 1000, Array(t[1000..<2480])))
    stack.receive(a, now: 0)
    stack.receive(overlapping, now: 0)
    XCTAssertEqual(stack.counters.reassemblyDiscarded, 1)
    XCTAssertEqual(stack.reassemblingCount, 0)
    for p in Net.fragments(t, piece: 1480, id: 6) { stack.receive(p, now: 0) }
    XCTAssertTrue(stack.udpReceive(s)?.2 == data)
    XCTAssertNil(stack.udpReceive(s))
    stack.assertCountersAddUp()
  }

  func testInconsistentEndsDiscardTheDatagram() throws {
    var (stack, _) = try reassemblyStack()
    let t = datagram
    // Two last pieces that disagree on the end.
    stack.receive(Net.ethernet(type: 0x0800, Net.ipv4(proto: 17, id: 1, offset: 2960, Array(t[2960...]))), now: 0)
    stack.receive(Net.ethernet(type: 0x0800, Net.ipv4(proto: 17, id: 1, offset: 1480, Array(t[1480..<2000]))), now: 0)
    // A middle piece past the end a last piece set.
    stack.receive(Net.ethernet(type: 0x0800, Net.ipv4(proto: 17, id: 2, offset: 1480, Array(t[1480..<2000]))), now: 0)
    stack.receive(
      Net.ethernet(type: 0x0800, Net.ipv4(proto: 17, id: 2, mf: true, offset: 1480, Array(t[1480..<2960]))), now: 0)
    XCTAssertEqual(stack.counters.reassemblyDiscarded, 2)
    XCTAssertEqual(stack.reassemblingCount, 0)
    stack.assertCountersAddUp()
  }

  func testMissingPieceTimesOut() throws {
    var (stack, s) = try reassemblyStack()
    let pieces = Net.fragments(datagram, piece: 1480)
    stack.receive(pieces[0], now: 1_000)
    stack.receive(pieces[2], now: 2_000)
    XCTAssertEqual(stack.nextDeadline, 1_000 + 30_000_000)
    stack.tick(now: 30_000_999)
    XCTAssertEqual(stack.reassemblingCount, 1)
    stack.tick(now: 30_001_000)
    XCTAssertEqual(stack.reassemblingCount, 0)
    XCTAssertEqual(stack.counters.reassemblyTimeouts, 1)
    XCTAssertNil(stack.nextDeadline)
    stack.receive(pieces[1], now: 30_002_000)
    XCTAssertNil(stack.udpReceive(s), "the late piece starts over alone")
    XCTAssertEqual(stack.reassemblingCount, 1)
    stack.assertCountersAddUp()
  }

  func testBoundedSlotsAndSize() throws {
    var (stack, s) = try reassemblyStack(maxSize: 2048, slots: 2)
    for id in 0..<3 { stack.receive(Net.fragments(datagram, piece: 1480, id: UInt16(id))[0], now: 0) }
    XCTAssertEqual(stack.reassemblingCount, 2)
    XCTAssertEqual(stack.counters.ipFragmentsDropped, 1, "no third slot")
    // Past the size limit: the piece and its datagram go.
    stack.receive(Net.fragments(datagram, piece: 1480, id: 0)[1], now: 0)
    XCTAssertEqual(stack.counters.reassemblyDiscarded, 1)
    XCTAssertEqual(stack.reassemblingCount, 1)
    // One that fits still works.
    let small = Array(data[0..<1500])
    for p in Net.fragments(Net.udp(sport: 9, dport: 7, small), piece: 1000, id: 9) { stack.receive(p, now: 0) }
    XCTAssertEqual(stack.udpReceive(s)?.2, small)
    stack.assertCountersAddUp()
  }

  /// The largest datagram IPv4 allows reassembles when configured for it.
  func testLargestDatagram() throws {
    var (stack, _) = try reassemblyStack(maxSize: 65515)
    let payload = [UInt8](repeating: 0x5a, count: 65507)
    for p in Net.fragments(Net.udp(sport: 9, dport: 7, payload), piece: 1480) { stack.receive(p, now: 0) }
    XCTAssertEqual(stack.counters.ipReassembled, 1)
    XCTAssertEqual(stack.counters.udpQueueFull, 1, "bigger than the 16 KiB queue, so not queued, but whole")
  }

  // MARK: sending

  func testOutgoingFragmentation() throws {
    var stack = Net.stack()
    Net.introducePeer(&stack)
    let s = try stack.udpBind(port: 1000)
    let payload = (0..<4000).map { UInt8(truncatingIfNeeded: $0) }
    try stack.udpSend(s, to: Net.peerIP, port: 7, payload, now: 0)
    let frames = stack.link.device.frames
    XCTAssertEqual(frames.map(\.count), [1514, 1514, 14 + 20 + 4008 - 2960])
    let sent = frames.compactMap { Net.sentIP($0) }
    XCTAssertEqual(sent.map(\.offset), [0, 1480, 2960])
    XCTAssertEqual(sent.map(\.moreFragments), [true, true, false])
    XCTAssertEqual(Set(sent.map(\.id)).count, 1)
    let transport = sent.flatMap(\.payload)
    XCTAssertEqual(transport, Net.udp(src: Net.ourIP, dst: Net.peerIP, sport: 1000, dport: 7, payload))
    // The next datagram gets the next identification.
    stack.link.device.frames.removeAll()
    try stack.udpSend(s, to: Net.peerIP, port: 7, [1], now: 0)
    XCTAssertEqual(Net.sentIP(try XCTUnwrap(stack.link.device.frames.first))?.id, sent[0].id &+ 1)
    // Exactly the MTU: one frame.
    stack.link.device.frames.removeAll()
    try stack.udpSend(s, to: Net.peerIP, port: 7, [UInt8](repeating: 1, count: 1472), now: 0)
    XCTAssertEqual(stack.link.device.frames.map(\.count), [1514])
  }

  func testSmallerMTU() throws {
    var c = NetConfiguration()
    c.mtu = 576
    var stack = Net.stack(configuration: c)
    Net.introducePeer(&stack)
    let s = try stack.udpBind(port: 1000)
    try stack.udpSend(s, to: Net.peerIP, port: 7, [UInt8](repeating: 3, count: 1200), now: 0)
    let sent = stack.link.device.frames.compactMap { Net.sentIP($0) }
    XCTAssertEqual(sent.map(\.offset), [0, 552, 1104])
    XCTAssertTrue(sent.allSatisfy { $0.header.count + $0.payload.count <= 576 })
  }

  func testRouting() throws {
    var stack = Net.stack()
    Net.introducePeer(&stack)  // the gateway, 10.0.2.2
    let s = try stack.udpBind(port: 1000)
    stack.link.device.frames.removeAll()
    try stack.udpSend(s, to: IPv4Address(8, 8, 8, 8), port: 53, [1], now: 0)
    var sent = try XCTUnwrap(Net.sentIP(try XCTUnwrap(stack.link.device.frames.last)))
    XCTAssertEqual(sent.ethDst, Net.peerMAC, "off the subnet: to the gateway's MAC")
    XCTAssertEqual(sent.dst, IPv4Address(8, 8, 8, 8))
    for dst in [IPv4Address.broadcast, IPv4Address(10, 0, 2, 255)] {
      try stack.udpSend(s, to: dst, port: 53, [1], now: 0)
      sent = try XCTUnwrap(Net.sentIP(try XCTUnwrap(stack.link.device.frames.last)))
      XCTAssertEqual(sent.ethDst, .broadcast)
      XCTAssertEqual(sent.dst, dst)
    }
    try stack.udpSend(s, to: IPv4Address(224, 0, 0, 251), port: 5353, [1], now: 0)
    XCTAssertEqual(Net.sentIP(try XCTUnwrap(stack.link.device.frames.last))?.ethDst, MACAddress(1, 0, 0x5e, 0, 0, 0xfb))
    for nowhere in [Net.ourIP, IPv4Address(127, 0, 0, 1), IPv4Address(240, 0, 0, 1)] {
      XCTAssertThrowsError(try stack.udpSend(s, to: nowhere, port: 1, [1], now: 0), "\(nowhere)")
    }
    var isolated = TestStack(device: NetRecordingDevice(mac: Net.ourMAC), address: Net.ourIP, gateway: nil)
    let t = try isolated.udpBind(port: 1)
    XCTAssertThrowsError(try isolated.udpSend(t, to: IPv4Address(8, 8, 8, 8), port: 1, [1], now: 0)) {
      XCTAssertEqual($0 as? UDPError, .noRoute)
    }
    try isolated.udpSend(t, to: Net.otherIP, port: 1, [1], now: 0)
    XCTAssertEqual(isolated.counters.arpRequestsSent, 1, "on the subnet needs no gateway")
    var wide = TestStack(
      device: NetRecordingDevice(mac: Net.ourMAC), address: Net.ourIP, netmask: IPv4Address(255, 255, 0, 0))
    let w = try wide.udpBind(port: 1)
    try wide.udpSend(w, to: IPv4Address(10, 0, 9, 9), port: 1, [1], now: 0)
    let asked = try XCTUnwrap(wide.link.device.frames.first)
    XCTAssertEqual(Net.ipAt(asked, 14 + 24), IPv4Address(10, 0, 9, 9), "a /16 reaches 10.0.9.9 directly")
  }
}
