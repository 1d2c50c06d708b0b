// Host tests of the network library OS as a whole: ICMP echo answered byte
// for byte, UDP echo and the socket calls through a recording device,
// port-unreachable and its rate limit, poll readiness, two stacks talking
// UDP over a fake wire (ARP from cold, fragments both ways), and a property
// test that throws thousands of random and mutated frames at `receive`.
// The frame builders and the recording device the other Net*Tests files
// use are here too; they build packets independently of the stack (their
// own checksum), so the tests do not check the stack against itself.
import XCTest

@testable import LibOSNet

// MARK: fixtures shared by the Net*Tests files


/// A device that records every frame sent; it can be told to refuse. It
/// hands out its buffers in turn, as the kernel's transmit ring does, and
/// counts every write the stack makes into a buffer after sending it (the
/// device may still be reading it then).
struct NetRecordingDevice: NetworkInterface {
  var mac: MACAddress
  var frames: [[UInt8]] = []
  var refuse = false
  /// Buffers changed between their send and their next hand-out.
  private(set) var touchedAfterSend = 0
  private let buffers = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 * 1514, alignment: 16)
  private var sent: [[UInt8]?] = [nil, nil, nil, nil]
  private var next = 0
  private var current: Int? = nil

  init(mac: MACAddress) { self.mac = mac }

  private func buffer(_ i: Int) -> UnsafeMutableRawBufferPointer {
    UnsafeMutableRawBufferPointer(rebasing: buffers[(i * 1514)..<((i + 1) * 1514)])
  }

  mutating func transmitBuffer() -> UnsafeMutableRawBufferPointer? {
    for i in sent.indices {
      if let bytes = sent[i], Array(buffer(i).prefix(bytes.count)) != bytes { touchedAfterSend += 1 }
    }
    current = next
    sent[next] = nil
    defer { next = (next + 1) % sent.count }
    return buffer(next)
  }

  mutating func transmit(count: Int) -> Bool {
    guard let i = current, count <= 1514 else { return false }
    current = nil
    guard !refuse else { return false }
    let bytes = Array(buffer(i).prefix(count))
    sent[i] = bytes
    frames.append(bytes)
    return true
  }
}

typealias TestStack = NetStack<NetRecordingDevice>

enum Net {
  static let ourMAC = MACAddress(0x02, 0, 0, 0, 0, 0x01)
  static let ourIP = IPv4Address(10, 0, 2, 100)
  static let peerMAC = MACAddress(0x52, 0x55, 0x0a, 0x00, 0x02, 0x02)
  static let peerIP = IPv4Address(10, 0, 2, 2)  // also the gateway
  static let otherMAC = MACAddress(0x02, 0, 0, 0, 0, 0x33)
  static let otherIP = IPv4Address(10, 0, 2, 33)

  static func stack(
    address: IPv4Address? = ourIP, mac: MACAddress = ourMAC, configuration: NetConfiguration = NetConfiguration()
  ) -> TestStack {
    TestStack(device: NetRecordingDevice(mac: mac), address: address, configuration: configuration)
  }

  // MARK: byte helpers (independent of the stack's)

  static func be16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) << 8 | UInt16(b[o + 1]) }
  static func be32(_ b: [UInt8], _ o: Int) -> UInt32 {
    UInt32(b[o]) << 24 | UInt32(b[o + 1]) << 16 | UInt32(b[o + 2]) << 8 | UInt32(b[o + 3])
  }
  static func u16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
  static func u32(_ v: UInt32) -> [UInt8] {
    [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
  }
  static func mac(_ m: MACAddress) -> [UInt8] { [m.bytes.0, m.bytes.1, m.bytes.2, m.bytes.3, m.bytes.4, m.bytes.5] }
  static func ip(_ a: IPv4Address) -> [UInt8] { u32(a.value) }
  static func macAt(_ b: [UInt8], _ o: Int) -> MACAddress {
    MACAddress(b[o], b[o + 1], b[o + 2], b[o + 3], b[o + 4], b[o + 5])
  }
  static func ipAt(_ b: [UInt8], _ o: Int) -> IPv4Address { IPv4Address(be32(b, o)) }

  /// RFC 1071, written out again here so tests do not trust the stack's.
  static func checksum(_ b: [UInt8]) -> UInt16 {
    var sum: UInt32 = 0
    var i = 0
    while i + 1 < b.count {
      sum += UInt32(b[i]) << 8 | UInt32(b[i + 1])
      i += 2
    }
    if i < b.count { sum += UInt32(b[i]) << 8 }
    while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
    return ~UInt16(sum)
  }

  static func pseudo(_ src: IPv4Address, _ dst: IPv4Address, _ proto: UInt8, _ length: Int) -> [UInt8] {
    ip(src) + ip(dst) + [0, proto] + u16(UInt16(length))
  }

  // MARK: builders

  static func ethernet(dst: MACAddress = ourMAC, src: MACAddress = peerMAC, type: UInt16, _ payload: [UInt8]) -> [UInt8]
  {
    mac(dst) + mac(src) + u16(type) + payload
  }

  /// An IPv4 header (with `options`, a multiple of 4 bytes) and payload, checksum filled in.
  static func ipv4(
    src: IPv4Address = peerIP, dst: IPv4Address = ourIP, proto: UInt8, id: UInt16 = 0x1234, ttl: UInt8 = 64,
    df: Bool = false, mf: Bool = false, offset: Int = 0, options: [UInt8] = [], _ payload: [UInt8]
  ) -> [UInt8] {
    let ihl = 5 + options.count / 4
    var flags = UInt16(offset / 8)
    if df { flags |= 0x4000 }
    if mf { flags |= 0x2000 }
    var h: [UInt8] = [UInt8(0x40 | ihl), 0] + u16(UInt16(ihl * 4 + payload.count)) + u16(id) + u16(flags)
    h += [ttl, proto, 0, 0] + ip(src) + ip(dst) + options
    let c = checksum(h)
    h[10] = UInt8(c >> 8)
    h[11] = UInt8(c & 0xff)
    return h + payload
  }

  static func udp(
    src: IPv4Address = peerIP, dst: IPv4Address = ourIP, sport: UInt16, dport: UInt16, _ data: [UInt8],
    zeroChecksum: Bool = false
  ) -> [UInt8] {
    var u = u16(sport) + u16(dport) + u16(UInt16(8 + data.count)) + [0, 0] + data
    if !zeroChecksum {
      var c = checksum(pseudo(src, dst, 17, u.count) + u)
      if c == 0 { c = 0xffff }
      u[6] = UInt8(c >> 8)
      u[7] = UInt8(c & 0xff)
    }
    return u
  }

  static func udpFrame(
    src: IPv4Address = peerIP, dst: IPv4Address = ourIP, sport: UInt16 = 5000, dport: UInt16, _ data: [UInt8],
    id: UInt16 = 0x1234, ethDst: MACAddress = ourMAC
  ) -> [UInt8] {
    ethernet(
      dst: ethDst, type: 0x0800,
      ipv4(src: src, dst: dst, proto: 17, id: id, udp(src: src, dst: dst, sport: sport, dport: dport, data)))
  }

  static func icmpEcho(type: UInt8 = 8, id: UInt16, seq: UInt16, _ data: [UInt8]) -> [UInt8] {
    var m: [UInt8] = [type, 0, 0, 0] + u16(id) + u16(seq) + data
    let c = checksum(m)
    m[2] = UInt8(c >> 8)
    m[3] = UInt8(c & 0xff)
    return m
  }

  static func arp(
    op: UInt16, senderMAC: MACAddress = peerMAC, senderIP: IPv4Address = peerIP, targetMAC: MACAddress = .zero,
    targetIP: IPv4Address = ourIP
  ) -> [UInt8] {
    [0, 1, 8, 0, 6, 4] + u16(op) + mac(senderMAC) + ip(senderIP) + mac(targetMAC) + ip(targetIP)
  }

  static func arpFrame(
    op: UInt16, senderMAC: MACAddress = peerMAC, senderIP: IPv4Address = peerIP, targetMAC: MACAddress = .zero,
    targetIP: IPv4Address = ourIP, ethDst: MACAddress = .broadcast
  ) -> [UInt8] {
    ethernet(
      dst: ethDst, src: senderMAC, type: 0x0806,
      arp(op: op, senderMAC: senderMAC, senderIP: senderIP, targetMAC: targetMAC, targetIP: targetIP))
  }

  /// The frames a 4-byte-aligned UDP datagram splits into when cut every `piece` bytes (a multiple of 8).
  static func fragments(
    _ transport: [UInt8], piece: Int, proto: UInt8 = 17, id: UInt16 = 0x4242, src: IPv4Address = peerIP,
    dst: IPv4Address = ourIP
  ) -> [[UInt8]] {
    stride(from: 0, to: transport.count, by: piece).map { start in
      let end = min(start + piece, transport.count)
      return ethernet(
        type: 0x0800,
        ipv4(
          src: src, dst: dst, proto: proto, id: id, mf: end < transport.count, offset: start,
          Array(transport[start..<end])))
    }
  }

  /// Teaches `stack` the peer's MAC with an ARP request from it, and forgets the reply.
  static func introducePeer(
    _ stack: inout TestStack, mac: MACAddress = peerMAC, ip: IPv4Address = peerIP, now: UInt64 = 0
  ) {
    stack.receive(arpFrame(op: 1, senderMAC: mac, senderIP: ip, targetIP: stack.address ?? ourIP), now: now)
    stack.link.device.frames.removeAll()
  }

  // MARK: reading what was sent

  struct SentIP {
    var ethDst: MACAddress
    var header: [UInt8]
    var payload: [UInt8]
    var src: IPv4Address { ipAt(header, 12) }
    var dst: IPv4Address { ipAt(header, 16) }
    var proto: UInt8 { header[9] }
    var id: UInt16 { be16(header, 4) }
    var moreFragments: Bool { header[6] & 0x20 != 0 }
    var offset: Int { Int(be16(header, 6) & 0x1fff) * 8 }
  }

  /// The IPv4 datagram in a sent frame, with its header checksum and lengths checked.
  static func sentIP(_ frame: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> SentIP? {
    guard frame.count >= 34, be16(frame, 12) == 0x0800 else {
      XCTFail("not an IPv4 frame", file: file, line: line)
      return nil
    }
    let ihl = Int(frame[14] & 0xf) * 4
    let total = Int(be16(frame, 16))
    XCTAssertEqual(frame[14] >> 4, 4, file: file, line: line)
    XCTAssertEqual(checksum(Array(frame[14..<(14 + ihl)])), 0, "header checksum", file: file, line: line)
    XCTAssertLessThanOrEqual(14 + total, frame.count, file: file, line: line)
    XCTAssertGreaterThanOrEqual(frame.count, 60, "padded to the Ethernet minimum", file: file, line: line)
    XCTAssertLessThanOrEqual(frame.count, 1514, file: file, line: line)
    XCTAssertEqual(macAt(frame, 6), macAt(frame, 6))
    return SentIP(
      ethDst: macAt(frame, 0), header: Array(frame[14..<(14 + ihl)]), payload: Array(frame[(14 + ihl)..<(14 + total)]))
  }
}

extension NetStack {
  mutating func receive(_ bytes: [UInt8], now: UInt64) {
    bytes.withUnsafeBytes { receive(frame: $0, now: now) }
  }

  mutating func udpSend(_ s: UDPSocket, to: IPv4Address, port: UInt16, _ data: [UInt8], now: UInt64) throws(UDPError) {
    var failure: UDPError? = nil
    data.withUnsafeBytes { b in
      do throws(UDPError) { try udpSend(s, to: to, port: port, bytes: b, now: now) } catch { failure = error }
    }
    if let failure { throw failure }
  }

  /// The next datagram on `s` as (source, port, bytes), read into a buffer of `capacity`.
  mutating func udpReceive(_ s: UDPSocket, capacity: Int = 65536) -> (IPv4Address, UInt16, [UInt8])? {
    var buffer = [UInt8](repeating: 0, count: capacity)
    let got = buffer.withUnsafeMutableBytes { udpReceive(s, into: $0) }
    guard let got else { return nil }
    return (got.source, got.port, Array(buffer[0..<got.count]))
  }

  /// Every counter's invariant: each frame and each datagram has exactly
  /// one outcome; and no frame was written into after it went to the device.
  func assertCountersAddUp(_ context: String = "", file: StaticString = #filePath, line: UInt = #line) {
    if let device = link.device as? NetRecordingDevice {
      XCTAssertEqual(device.touchedAfterSend, 0, "buffers written after their send \(context)", file: file, line: line)
    }
    let c = counters
    XCTAssertEqual(c.framesIn, c.framesAccounted, "frames \(context)", file: file, line: line)
    XCTAssertEqual(
      c.ipDatagramsIn + c.ipReassembled, c.datagramsAccounted, "datagrams \(context)", file: file, line: line)
  }
}

/// A switch between two stacks: delivers what each sent to the other until both are quiet.
func netWire(_ a: inout TestStack, _ b: inout TestStack, now: inout UInt64, file: StaticString = #filePath, line: UInt = #line) {
  var rounds = 0
  while !(a.link.device.frames.isEmpty && b.link.device.frames.isEmpty) {
    rounds += 1
    guard rounds < 100 else {
      XCTFail("the exchange does not settle", file: file, line: line)
      return
    }
    let fromA = a.link.device.frames
    let fromB = b.link.device.frames
    a.link.device.frames.removeAll()
    b.link.device.frames.removeAll()
    for f in fromA { b.receive(f, now: now) }
    for f in fromB { a.receive(f, now: now) }
    now += 100
  }
}

// MARK: the stack as a whole

final class NetStackTests: XCTestCase {
  /// An echo request answered with exactly the reply RFC 792 defines: the
  /// same identifier, sequence and data, type 0, a fresh checksum, in a
  /// datagram back to the sender, framed to the sender's MAC.
  func testICMPEchoReplyIsExactByteForByte() throws {
    var stack = Net.stack()
    Net.introducePeer(&stack)
    let data = Array("exokernel ping payload 0123456789abcdef".utf8)
    let request = Net.icmpEcho(id: 0xbeef, seq: 7, data)
    stack.receive(Net.ethernet(type: 0x0800, Net.ipv4(proto: 1, id: 99, request)), now: 10)
    XCTAssertEqual(stack.counters.icmpEchoAnswered, 1)
    let frames = stack.link.device.frames
    XCTAssertEqual(frames.count, 1)
    let sent = try XCTUnwrap(frames.first)
    let id = Net.be16(sent, 18)  // the stack's own identification is the one free field
    var reply: [UInt8] = [0, 0, 0, 0] + Net.u16(0xbeef) + Net.u16(7) + data
    let c = Net.checksum(reply)
    reply[2] = UInt8(c >> 8)
    reply[3] = UInt8(c & 0xff)
    var expected = Net.ethernet(
      dst: Net.peerMAC, src: Net.ourMAC, type: 0x0800,
      Net.ipv4(src: Net.ourIP, dst: Net.peerIP, proto: 1, id: id, reply))
    while expected.count < 60 { expected.append(0) }
    XCTAssertEqual(sent, expected)
    XCTAssertEqual(Net.checksum(Array(sent[34...])), 0, "ICMP checksum verifies")

    // A short one is padded to 60 bytes with zeros after the datagram.
    stack.link.device.frames.removeAll()
    stack.receive(Net.ethernet(type: 0x0800, Net.ipv4(proto: 1, Net.icmpEcho(id: 1, seq: 2, [0xaa]))), now: 11)
    let short = try XCTUnwrap(stack.link.device.frames.first)
    XCTAssertEqual(short.count, 60)
    XCTAssertEqual(Net.be16(short, 16), 29)
    XCTAssertEqual(Array(short[43...]), [UInt8](repeating: 0, count: 17))
    stack.assertCountersAddUp()
  }

  func testICMPEchoNotAnsweredWhenBadOrBroadcast() {
    var stack = Net.stack()
    Net.introducePeer(&stack)
    var bad = Net.icmpEcho(id: 1, seq: 1, [1, 2, 3, 4])
    bad[5] ^= 0x40
    stack.receive(Net.ethernet(type: 0x0800, Net.ipv4(proto: 1, bad)), now: 0)
    XCTAssertEqual(stack.counters.icmpBadChecksum, 1)
    stack.receive(Net.ethernet(type: 0x0800, Net.ipv4(proto: 1, [8, 0, 0xf7])), now: 0)
    XCTAssertEqual(stack.counters.icmpMalformed, 1)
    let echo = Net.icmpEcho(id: 1, seq: 1, [1, 2, 3, 4])
    stack.receive(Net.ethernet(dst: .broadcast, type: 0x0800, Net.ipv4(dst: .broadcast, proto: 1, echo)), now: 0)
    stack.receive(
      Net.ethernet(dst: .broadcast, type: 0x0800, Net.ipv4(dst: IPv4Address(10, 0, 2, 255), proto: 1, echo)), now: 0)
    stack.receive(Net.ethernet(type: 0x0800, Net.ipv4(proto: 1, Net.icmpEcho(type: 0, id: 1, seq: 1, []))), now: 0)
    XCTAssertEqual(stack.counters.icmpIgnored, 3)
    XCTAssertEqual(stack.link.device.frames.count, 0)
    stack.assertCountersAddUp()
  }

  /// A UDP echo server on the stack: bind, receive with the sender's
  /// address and port, send back; the reply is a well-formed datagram.
  func testUDPEchoThroughTheStack() throws {
    var stack = Net.stack()
    Net.introducePeer(&stack)
    let socket = try stack.udpBind(port: 7)
    XCTAssertEqual(stack.udpPort(socket), 7)
    XCTAssertEqual(stack.readiness(of: .udp(socket)), .writable)
    let data = Array("hello, echo".utf8)
    stack.receive(Net.udpFrame(sport: 40000, dport: 7, data), now: 5)
    XCTAssertEqual(stack.readiness(of: .udp(socket)), [.readable, .writable])
    let got = try XCTUnwrap(stack.udpReceive(socket))
    XCTAssertEqual(got.0, Net.peerIP)
    XCTAssertEqual(got.1, 40000)
    XCTAssertEqual(got.2, data)
    XCTAssertNil(stack.udpReceive(socket))
    try stack.udpSend(socket, to: got.0, port: got.1, got.2, now: 6)
    let sent = try XCTUnwrap(Net.sentIP(try XCTUnwrap(stack.link.device.frames.first)))
    XCTAssertEqual(sent.ethDst, Net.peerMAC)
    XCTAssertEqual(sent.src, Net.ourIP)
    XCTAssertEqual(sent.dst, Net.peerIP)
    XCTAssertEqual(sent.proto, 17)
    XCTAssertEqual(sent.payload, Net.udp(src: Net.ourIP, dst: Net.peerIP, sport: 7, dport: 40000, data))
    XCTAssertEqual(Net.checksum(Net.pseudo(Net.ourIP, Net.peerIP, 17, sent.payload.count) + sent.payload), 0)
    XCTAssertEqual(stack.counters.udpDelivered, 1)
    XCTAssertEqual(stack.counters.framesOut, 2, "the ARP reply to the peer, and the datagram")
    stack.assertCountersAddUp()
  }

  func testUDPChecksumZeroMeansNoneAndBadChecksumDrops() throws {
    var stack = Net.stack()
    let socket = try stack.udpBind(port: 9)
    let plain = Net.ethernet(
      type: 0x0800, Net.ipv4(proto: 17, Net.udp(sport: 1, dport: 9, [1, 2, 3], zeroChecksum: true)))
    stack.receive(plain, now: 0)
    XCTAssertEqual(stack.udpReceive(socket)?.2, [1, 2, 3])
    var bad = Net.udpFrame(dport: 9, [1, 2, 3])
    bad[bad.count - 1] ^= 1
    stack.receive(bad, now: 0)
    XCTAssertEqual(stack.counters.udpBadChecksum, 1)
    XCTAssertNil(stack.udpReceive(socket))
    // An IP payload longer than UDP's length field: the extra bytes are not data.
    let trailing = Net.ethernet(type: 0x0800, Net.ipv4(proto: 17, Net.udp(sport: 1, dport: 9, [7, 7]) + [0xde, 0xad]))
    stack.receive(trailing, now: 0)
    XCTAssertEqual(stack.udpReceive(socket)?.2, [7, 7])
    stack.assertCountersAddUp()
  }

  func testUDPSocketRules() throws {
    var c = NetConfiguration()
    c.udpSockets = 3
    var stack = Net.stack(configuration: c)
    let a = try stack.udpBind(port: 53)
    XCTAssertThrowsError(try stack.udpBind(port: 53)) { XCTAssertEqual($0 as? UDPError, .addressInUse) }
    let b = try stack.udpBind(port: 0)
    let bPort = try XCTUnwrap(stack.udpPort(b))
    XCTAssertTrue((49152...65535).contains(bPort))
    let d = try stack.udpBind(port: 0)
    XCTAssertNotEqual(stack.udpPort(d), bPort)
    XCTAssertThrowsError(try stack.udpBind(port: 1000)) { XCTAssertEqual($0 as? UDPError, .tableFull) }
    try stack.udpClose(a)
    XCTAssertThrowsError(try stack.udpClose(a)) { XCTAssertEqual($0 as? UDPError, .noSuchSocket) }
    XCTAssertEqual(stack.readiness(of: .udp(a)), .error)
    let again = try stack.udpBind(port: 53)
    XCTAssertEqual(again.index, a.index, "the slot is reused")
    XCTAssertNotEqual(again, a, "with a new generation")
    XCTAssertNil(stack.udpReceive(a))
    XCTAssertThrowsError(try stack.udpSend(a, to: Net.peerIP, port: 1, [1], now: 0)) {
      XCTAssertEqual($0 as? UDPError, .noSuchSocket)
    }
    XCTAssertThrowsError(try stack.udpSend(again, to: Net.peerIP, port: 0, [1], now: 0)) {
      XCTAssertEqual($0 as? UDPError, .badArgument)
    }
    let huge = [UInt8](repeating: 0, count: 65508)
    XCTAssertThrowsError(try stack.udpSend(again, to: Net.peerIP, port: 1, huge, now: 0)) {
      XCTAssertEqual($0 as? UDPError, .messageTooLong)
    }
    XCTAssertThrowsError(try stack.udpSend(again, to: IPv4Address(127, 0, 0, 1), port: 1, [1], now: 0)) {
      XCTAssertEqual($0 as? UDPError, .noRoute)
    }
    // DHCP keeps port 68 while it runs.
    var dhcp = Net.stack(address: nil)
    XCTAssertThrowsError(try dhcp.udpBind(port: 68)) { XCTAssertEqual($0 as? UDPError, .addressInUse) }
    let s = try dhcp.udpBind(port: 5000)
    XCTAssertThrowsError(try dhcp.udpSend(s, to: Net.peerIP, port: 1, [1], now: 0)) {
      XCTAssertEqual($0 as? UDPError, .noAddress)
    }
    stack.link.device.refuse = true
    Net.introducePeer(&stack)
    XCTAssertThrowsError(try stack.udpSend(again, to: Net.peerIP, port: 1, [1], now: 0)) {
      XCTAssertEqual($0 as? UDPError, .noBufferSpace)
    }
    XCTAssertGreaterThan(stack.counters.transmitFailed, 0)
  }

  /// The receive queue is bounded by datagrams and by bytes; a datagram
  /// read into a smaller buffer is cut, and the queue keeps its order
  /// across the ring's wrap.
  func testUDPReceiveQueueIsBounded() throws {
    var c = NetConfiguration()
    c.udpQueueDatagrams = 4
    c.udpQueueBytes = 100
    var stack = Net.stack(configuration: c)
    let s = try stack.udpBind(port: 9)
    for i in 0..<5 { stack.receive(Net.udpFrame(dport: 9, [UInt8](repeating: UInt8(i), count: 10)), now: 0) }
    XCTAssertEqual(stack.counters.udpDelivered, 4)
    XCTAssertEqual(stack.counters.udpQueueFull, 1)
    XCTAssertEqual(stack.udpReceive(s, capacity: 4)?.2, [0, 0, 0, 0], "cut to the buffer")
    for i in 1..<4 { XCTAssertEqual(stack.udpReceive(s)?.2, [UInt8](repeating: UInt8(i), count: 10)) }
    XCTAssertNil(stack.udpReceive(s))
    // Bytes: 60 + 30 fit, 20 more do not; after one read the ring wraps.
    stack.receive(Net.udpFrame(dport: 9, [UInt8](repeating: 1, count: 60)), now: 0)
    stack.receive(Net.udpFrame(dport: 9, [UInt8](repeating: 2, count: 30)), now: 0)
    stack.receive(Net.udpFrame(dport: 9, [UInt8](repeating: 3, count: 20)), now: 0)
    XCTAssertEqual(stack.counters.udpQueueFull, 2)
    XCTAssertEqual(stack.udpReceive(s)?.2, [UInt8](repeating: 1, count: 60))
    let wrapping = (0..<50).map { UInt8($0) }
    stack.receive(Net.udpFrame(dport: 9, wrapping), now: 0)
    XCTAssertEqual(stack.udpReceive(s)?.2, [UInt8](repeating: 2, count: 30))
    XCTAssertEqual(stack.udpReceive(s)?.2, wrapping)
    // Too big for the whole queue: dropped, not cut.
    stack.receive(Net.udpFrame(dport: 9, [UInt8](repeating: 9, count: 101)), now: 0)
    XCTAssertNil(stack.udpReceive(s))
    stack.assertCountersAddUp()
  }

  /// A datagram to a closed port gets ICMP port unreachable quoting its
  /// header and first 8 bytes; a burst is limited by the token bucket.
  func testClosedPortSendsRateLimitedPortUnreachable() throws {
    var c = NetConfiguration()
    c.icmpErrorBurst = 3
    c.icmpErrorInterval = 1_000_000
    var stack = Net.stack(configuration: c)
    Net.introducePeer(&stack)
    let frame = Net.udpFrame(sport: 1111, dport: 2222, Array("knock knock".utf8))
    stack.receive(frame, now: 0)
    let sent = try XCTUnwrap(Net.sentIP(try XCTUnwrap(stack.link.device.frames.first)))
    XCTAssertEqual(sent.proto, 1)
    XCTAssertEqual(sent.dst, Net.peerIP)
    XCTAssertEqual(Array(sent.payload[0..<2]), [3, 3])
    XCTAssertEqual(Array(sent.payload[4..<8]), [0, 0, 0, 0])
    XCTAssertEqual(Array(sent.payload[8...]), Array(frame[14..<(14 + 20 + 8)]), "the header and 8 bytes quoted")
    XCTAssertEqual(Net.checksum(sent.payload), 0)
    for _ in 0..<9 { stack.receive(frame, now: 1) }
    XCTAssertEqual(stack.counters.icmpErrorsSent, 3)
    XCTAssertEqual(stack.counters.icmpRateLimited, 7)
    XCTAssertEqual(stack.counters.udpNoSocket, 10)
    stack.receive(frame, now: 2_500_000)
    stack.receive(frame, now: 2_500_000)
    stack.receive(frame, now: 2_500_000)
    XCTAssertEqual(stack.counters.icmpErrorsSent, 5, "two tokens earned in 2.5 s")
    // Not for a broadcast, and not for an unknown protocol's fragment.
    let before = stack.counters.icmpErrorsSent
    stack.receive(Net.udpFrame(dst: .broadcast, dport: 2222, [1], ethDst: .broadcast), now: 10_000_000)
    XCTAssertEqual(stack.counters.icmpErrorsSent, before)
    // An unknown protocol gets protocol unreachable.
    stack.link.device.frames.removeAll()
    stack.receive(Net.ethernet(type: 0x0800, Net.ipv4(proto: 99, [1, 2, 3, 4, 5, 6, 7, 8, 9])), now: 20_000_000)
    XCTAssertEqual(stack.counters.ipUnknownProtocol, 1)
    let proto = try XCTUnwrap(Net.sentIP(try XCTUnwrap(stack.link.device.frames.first)))
    XCTAssertEqual(Array(proto.payload[0..<2]), [3, 2])
    stack.assertCountersAddUp()
  }

  func testPollReportsWhatIsReady() throws {
    var stack = Net.stack()
    let a = try stack.udpBind(port: 1)
    let b = try stack.udpBind(port: 2)
    let stale = try stack.udpBind(port: 3)
    try stack.udpClose(stale)
    var entries = [
      PollEntry(socket: .udp(a), interest: .readable), PollEntry(socket: .udp(b), interest: .readable),
      PollEntry(socket: .udp(stale), interest: .readable),
      PollEntry(socket: .tcp(TCPConnectionID(index: 0, generation: 0)), interest: .readable),
    ]
    let expectedTCP = SocketReadiness(stack.tcpReadiness(TCPConnectionID(index: 0, generation: 0)))
      .intersection([.readable, .error, .hangup])
    var n = stack.poll(&entries)
    XCTAssertEqual(entries[0].ready, [])
    XCTAssertEqual(entries[1].ready, [])
    XCTAssertEqual(entries[2].ready, .error, "errors are reported unasked")
    XCTAssertEqual(entries[3].ready, expectedTCP)
    XCTAssertEqual(n, 1 + (expectedTCP.isEmpty ? 0 : 1))
    stack.receive(Net.udpFrame(dport: 2, [5]), now: 0)
    n = stack.poll(&entries)
    XCTAssertEqual(entries[0].ready, [])
    XCTAssertEqual(entries[1].ready, .readable)
    XCTAssertEqual(n, 2 + (expectedTCP.isEmpty ? 0 : 1))
    XCTAssertEqual(SocketReadiness(TCPReadiness([.readable, .hangup, .error])), [.readable, .hangup, .error])
    XCTAssertEqual(SocketReadiness(TCPReadiness([.writable, .acceptable])), [.writable, .acceptable])
  }

  /// TCP segments for our address go to `tcp.input`; to a broadcast they do not.
  func testTCPSegmentsAreHandedToTCPOnlyWhenUnicast() {
    var stack = Net.stack()
    let segment: [UInt8] = Net.u16(1234) + Net.u16(80) + [UInt8](repeating: 0, count: 16)
    stack.receive(Net.ethernet(type: 0x0800, Net.ipv4(proto: 6, segment)), now: 0)
    stack.receive(Net.ethernet(dst: .broadcast, type: 0x0800, Net.ipv4(dst: .broadcast, proto: 6, segment)), now: 0)
    XCTAssertEqual(stack.counters.tcpSegmentsIn, 1)
    XCTAssertEqual(stack.counters.tcpNotUnicast, 1)
    stack.assertCountersAddUp()
  }

  /// The recording device's check that every test's `assertCountersAddUp`
  /// relies on: it does see a write into a buffer after its send.
  func testRecordingDeviceSeesAWriteAfterSend() throws {
    var device = NetRecordingDevice(mac: Net.ourMAC)
    let buffer = try XCTUnwrap(device.transmitBuffer())
    buffer[0] = 1
    XCTAssertTrue(device.transmit(count: 60))
    _ = try XCTUnwrap(device.transmitBuffer())
    XCTAssertEqual(device.touchedAfterSend, 0)
    buffer[0] = 2
    _ = try XCTUnwrap(device.transmitBuffer())
    XCTAssertEqual(device.touchedAfterSend, 1)
    XCTAssertEqual(device.frames.first?.first, 1, "the frame as sent")
  }

  /// Two stacks on one wire, neither knowing the other: ARP from cold,
  /// a UDP exchange both ways, and a datagram fragmented by one and
  /// reassembled by the other.
  func testTwoStacksExchangeUDPOverAFakeWire() throws {
    let macA = MACAddress(0x02, 0, 0, 0, 0, 0xa)
    let macB = MACAddress(0x02, 0, 0, 0, 0, 0xb)
    let ipA = IPv4Address(10, 0, 2, 100)
    let ipB = IPv4Address(10, 0, 2, 101)
    var c = NetConfiguration()
    c.udpQueueBytes = 8192
    var a = Net.stack(address: ipA, mac: macA, configuration: c)
    var b = Net.stack(address: ipB, mac: macB, configuration: c)
    var now: UInt64 = 1_000
    func wire() { netWire(&a, &b, now: &now) }
    let sa = try a.udpBind(port: 1000)
    let sb = try b.udpBind(port: 2000)
    try a.udpSend(sa, to: ipB, port: 2000, Array("ping".utf8), now: now)
    XCTAssertEqual(a.counters.arpRequestsSent, 1)
    wire()
    let atB = try XCTUnwrap(b.udpReceive(sb))
    XCTAssertEqual(atB.0, ipA)
    XCTAssertEqual(atB.1, 1000)
    XCTAssertEqual(atB.2, Array("ping".utf8))
    try b.udpSend(sb, to: atB.0, port: atB.1, Array("pong".utf8), now: now)
    XCTAssertEqual(b.counters.arpRequestsSent, 0, "B learned A from A's request")
    wire()
    XCTAssertEqual(a.udpReceive(sa)?.2, Array("pong".utf8))
    var random = SplitMix64(state: 77)
    let big = random.bytes(6000)
    try a.udpSend(sa, to: ipB, port: 2000, big, now: now)
    XCTAssertEqual(a.link.device.frames.count, 5, "6008 bytes in pieces of 1480")
    wire()
    XCTAssertTrue(b.udpReceive(sb)?.2 == big, "the 6000 bytes arrive whole")
    XCTAssertEqual(b.counters.ipReassembled, 1)
    XCTAssertEqual(b.reassemblingCount, 0)
    a.assertCountersAddUp()
    b.assertCountersAddUp()
  }

  /// TCP through the stack: a connect from cold (ARP first), the
  /// handshake, and data, with `tcp.input` and TCP's output both passing
  /// through the link layer of each side.
  func testTwoStacksTalkTCPThroughTheLinkLayer() throws {
    let ipA = IPv4Address(10, 0, 2, 100)
    let ipB = IPv4Address(10, 0, 2, 101)
    var a = Net.stack(address: ipA, mac: MACAddress(0x02, 0, 0, 0, 0, 0xa))
    var b = Net.stack(address: ipB, mac: MACAddress(0x02, 0, 0, 0, 0, 0xb))
    var now: UInt64 = 1_000
    let listener = try b.tcpListen(port: 80, backlog: 4)
    let client = try a.tcpConnect(to: ipB, port: 80, now: now)
    XCTAssertEqual(a.link.device.frames.map { Net.be16($0, 12) }, [0x0806], "the SYN waits for ARP")
    netWire(&a, &b, now: &now)
    XCTAssertEqual(a.tcpState(client), .established)
    XCTAssertTrue(b.readiness(of: .tcp(listener)).contains(.acceptable))
    let server = try b.tcpAccept(listener)
    let request = Array("GET / HTTP/1.0\r\n\r\n".utf8)
    let sent = try request.withUnsafeBytes { try a.tcpSend(client, $0, now: now) }
    XCTAssertEqual(sent, request.count)
    netWire(&a, &b, now: &now)
    XCTAssertTrue(b.readiness(of: .tcp(server)).contains(.readable))
    var buffer = [UInt8](repeating: 0, count: 100)
    let got = try buffer.withUnsafeMutableBytes { try b.tcpReceive(server, into: $0, now: now) }
    XCTAssertEqual(Array(buffer[0..<got]), request)
    XCTAssertGreaterThanOrEqual(b.counters.tcpSegmentsIn, 3, "SYN, ACK, data")
    a.assertCountersAddUp()
    b.assertCountersAddUp()
  }

  /// Random bytes, and valid frames of every kind with random bytes
  /// changed, cut or grown: never a crash, and every frame and datagram
  /// ends in exactly one counter, with ticks and socket traffic between.
  func testRandomAndMutatedFramesNeverCrashAndCountersAddUp() throws {
    var random = SplitMix64(state: 0x5eed_0f_f4a3e5)
    var c = NetConfiguration()
    c.reassemblySlots = 2
    c.reassemblyMaxSize = 3000
    c.udpQueueDatagrams = 4
    var stacks = [Net.stack(configuration: c), Net.stack(address: nil, configuration: c)]
    var sockets: [UDPSocket] = []
    for i in stacks.indices {
      sockets.append(try stacks[i].udpBind(port: 7))
      _ = try stacks[i].udpBind(port: 53)
    }
    // Four datagrams, each cut its own way, whose pieces arrive in any order, repeated or lost.
    let fragmentSets = (0..<4).map { id in
      Net.fragments(
        Net.udp(sport: 1, dport: 7, random.bytes(100 + random.below(2800))), piece: 8 * (1 + random.below(100)),
        id: UInt16(id))
    }
    func valid() -> [UInt8] {
      switch random.below(10) {
      case 0:
        return Net.arpFrame(op: UInt16(1 + random.below(2)), senderIP: IPv4Address(10, 0, 2, UInt8(random.below(256))))
      case 1:
        return Net.ethernet(
          type: 0x0800, Net.ipv4(proto: 1, Net.icmpEcho(id: 1, seq: 2, random.bytes(random.below(100)))))
      case 2: return Net.udpFrame(dport: [7, 53, 68, 99][random.below(4)], random.bytes(random.below(200)))
      case 3:
        let pieces = fragmentSets[random.below(fragmentSets.count)]
        return pieces[random.below(pieces.count)]
      case 4: return Net.ethernet(type: 0x0800, Net.ipv4(proto: 6, random.bytes(20 + random.below(40))))
      case 5:
        let options = [UInt8](repeating: 1, count: 4 * random.below(11))
        return Net.ethernet(
          type: 0x0800, Net.ipv4(proto: 17, options: options, Net.udp(sport: 2, dport: 7, random.bytes(20))))
      case 6:
        var reply = [UInt8](repeating: 0, count: 240)
        reply[0] = 2
        reply[1] = 1
        reply[2] = 6
        for i in 0..<6 { reply[28 + i] = Net.mac(Net.ourMAC)[i] }
        reply[236...239] = [99, 130, 83, 99]
        reply += random.bytes(random.below(60))
        return Net.udpFrame(dst: .broadcast, sport: 67, dport: 68, reply, ethDst: .broadcast)
      case 7: return Net.ethernet(dst: .broadcast, type: 0x0806, random.bytes(random.below(40)))
      default: return random.bytes(random.below(1600))
      }
    }
    var now: UInt64 = 0
    for round in 0..<6000 {
      var frame = valid()
      switch random.below(4) {
      case 0: break
      case 1:
        for _ in 0...random.below(4) where !frame.isEmpty { frame[random.below(frame.count)] = random.byte() }
      case 2: frame = Array(frame.prefix(random.below(frame.count + 1)))
      default: frame += random.bytes(random.below(64))
      }
      let i = random.below(stacks.count)
      stacks[i].receive(frame, now: now)
      stacks[i].assertCountersAddUp("round \(round)")
      now += UInt64(random.below(200_000))
      if random.below(10) == 0 {
        for j in stacks.indices {
          stacks[j].tick(now: now)
          _ = stacks[j].udpReceive(sockets[j])
          try? stacks[j].udpSend(sockets[j], to: Net.peerIP, port: 9, random.bytes(random.below(2000)), now: now)
          stacks[j].link.device.frames.removeAll()
        }
      }
      if stacks.allSatisfy({ $0.counters.framesIn == 0 }) { XCTFail("nothing received") }
    }
    for s in stacks {
      s.assertCountersAddUp("at the end")
      // The generator reached every layer.
      XCTAssertGreaterThan(s.counters.arpProcessed + s.counters.arpIgnored, 0)
      XCTAssertGreaterThan(s.counters.ipMalformed, 0)
      XCTAssertGreaterThan(s.counters.ipBadChecksum, 0)
      XCTAssertGreaterThan(s.counters.ethernetMalformed + s.counters.ethernetNotForUs, 0)
      XCTAssertGreaterThan(s.counters.dhcpIn + s.counters.udpNoSocket, 0)
    }
    XCTAssertGreaterThan(stacks[0].counters.udpDelivered, 0)
    XCTAssertGreaterThan(stacks[0].counters.icmpEchoAnswered, 0)
    XCTAssertGreaterThan(stacks[0].counters.ipFragmentsHeld, 0)
    XCTAssertGreaterThan(stacks[0].counters.ipReassembled, 0)
    XCTAssertGreaterThan(stacks[1].counters.dhcpIn, 0)
  }
}
