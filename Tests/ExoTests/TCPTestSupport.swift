// Helpers for the TCP tests: a seeded generator, a segment builder and
// parser written from RFC 9293 §3.1 independently of the library's own (so
// a test checks the bytes TCP really sends), an `IPOutput` that records
// them, and a rig that plays the remote end segment by segment on a
// virtual clock.
import XCTest

@testable import LibOSNet


enum TCPFlag {
  static let fin: UInt8 = 0x01
  static let syn: UInt8 = 0x02
  static let rst: UInt8 = 0x04
  static let psh: UInt8 = 0x08
  static let ack: UInt8 = 0x10
}

/// A TCP segment as the wire has it.
struct TCPWireSegment: Equatable {
  var source = IPv4Address(10, 0, 0, 2)
  var destination = IPv4Address(10, 0, 0, 1)
  var sourcePort: UInt16 = 40000
  var destinationPort: UInt16 = 80
  var seq: UInt32 = 0
  var ack: UInt32 = 0
  var flags: UInt8 = TCPFlag.ack
  var window: UInt16 = 65535
  var mss: UInt16? = nil
  var windowScale: UInt8? = nil
  /// Raw option bytes appended after MSS and window scale (for hostile tests).
  var extraOptions: [UInt8] = []
  var payload: [UInt8] = []
  var checksumValid = true

  var syn: Bool { flags & TCPFlag.syn != 0 }
  var fin: Bool { flags & TCPFlag.fin != 0 }
  var rst: Bool { flags & TCPFlag.rst != 0 }
  var hasAck: Bool { flags & TCPFlag.ack != 0 }
  var isPureAck: Bool { flags == TCPFlag.ack && payload.isEmpty }
  /// SEG.LEN.
  var length: UInt32 { UInt32(payload.count) + (syn ? 1 : 0) + (fin ? 1 : 0) }

  static func checksum(_ bytes: [UInt8], source: IPv4Address, destination: IPv4Address) -> UInt16 {
    var sum: UInt32 = 0
    func add16(_ v: UInt32) { sum &+= v }
    add16(source.value >> 16)
    add16(source.value & 0xffff)
    add16(destination.value >> 16)
    add16(destination.value & 0xffff)
    add16(6)
    add16(UInt32(bytes.count))
    var i = 0
    while i + 1 < bytes.count {
      add16(UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1]))
      i += 2
    }
    if i < bytes.count { add16(UInt32(bytes[i]) << 8) }
    while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
    return ~UInt16(sum)
  }

  func encoded() -> [UInt8] {
    var options: [UInt8] = []
    if let mss { options += [2, 4, UInt8(mss >> 8), UInt8(mss & 0xff)] }
    if let windowScale { options += [1, 3, 3, windowScale] }
    options += extraOptions
    while options.count % 4 != 0 { options.append(0) }
    var b = [UInt8](repeating: 0, count: 20)
    b[0] = UInt8(sourcePort >> 8)
    b[1] = UInt8(sourcePort & 0xff)
    b[2] = UInt8(destinationPort >> 8)
    b[3] = UInt8(destinationPort & 0xff)
    for k in 0..<4 {
      b[4 + k] = UInt8(truncatingIfNeeded: seq >> (24 - 8 * UInt32(k)))
      b[8 + k] = UInt8(truncatingIfNeeded: ack >> (24 - 8 * UInt32(k)))
    }
    b[12] = UInt8((20 + options.count) / 4) << 4
    b[13] = flags
    b[14] = UInt8(window >> 8)
    b[15] = UInt8(window & 0xff)
    b += options
    b += payload
    var c = TCPWireSegment.checksum(b, source: source, destination: destination)
    if !checksumValid { c ^= 0x5a5a }
    b[16] = UInt8(c >> 8)
    b[17] = UInt8(c & 0xff)
    return b
  }

  /// Parses what TCP sent; fails the test on anything malformed.
  static func parse(_ b: [UInt8], source: IPv4Address, destination: IPv4Address) -> TCPWireSegment? {
    guard b.count >= 20 else { return nil }
    let offset = Int(b[12] >> 4) * 4
    guard offset >= 20, offset <= b.count else { return nil }
    var s = TCPWireSegment()
    s.source = source
    s.destination = destination
    s.sourcePort = UInt16(b[0]) << 8 | UInt16(b[1])
    s.destinationPort = UInt16(b[2]) << 8 | UInt16(b[3])
    s.seq = b[4..<8].reduce(0) { $0 << 8 | UInt32($1) }
    s.ack = b[8..<12].reduce(0) { $0 << 8 | UInt32($1) }
    s.flags = b[13]
    s.window = UInt16(b[14]) << 8 | UInt16(b[15])
    var i = 20
    while i < offset {
      let kind = b[i]
      if kind == 0 { break }
      if kind == 1 {
        i += 1
        continue
      }
      guard i + 1 < offset else { return nil }
      let len = Int(b[i + 1])
      guard len >= 2, i + len <= offset else { return nil }
      if kind == 2 && len == 4 { s.mss = UInt16(b[i + 2]) << 8 | UInt16(b[i + 3]) }
      if kind == 3 && len == 3 { s.windowScale = b[i + 2] }
      i += len
    }
    s.payload = Array(b[offset...])
    s.checksumValid = checksum(b, source: source, destination: destination) == 0
    return s
  }
}

/// An `IPOutput` that records every segment, raw and parsed.
struct TCPRecorder: IPOutput {
  var localAddress: IPv4Address
  var sent: [TCPWireSegment] = []
  var raw: [(destination: IPv4Address, bytes: [UInt8])] = []
  var refuse = false

  init(localAddress: IPv4Address) { self.localAddress = localAddress }

  @discardableResult
  mutating func sendIP(protocol: UInt8, destination: IPv4Address, payload: UnsafeRawBufferPointer) -> Bool {
    precondition(`protocol` == 6, "TCP sent a non-TCP datagram")
    let bytes = Array(payload)
    raw.append((destination, bytes))
    if let s = TCPWireSegment.parse(bytes, source: localAddress, destination: destination) {
      sent.append(s)
    } else {
      var broken = TCPWireSegment()
      broken.checksumValid = false
      sent.append(broken)
    }
    return !refuse
  }

  mutating func take() -> [TCPWireSegment] {
    defer {
      sent = []
      raw = []
    }
    return sent
  }
}

/// One TCP under test at 10.0.0.1 and a scripted peer at 10.0.0.2.
struct TCPRig {
  var tcp: TCP
  var out = TCPRecorder(localAddress: IPv4Address(10, 0, 0, 1))
  var now: UInt64 = 5_000_000
  let local = IPv4Address(10, 0, 0, 1)
  let peer = IPv4Address(10, 0, 0, 2)
  var peerPort: UInt16 = 40000
  var localPort: UInt16 = 80
  /// The peer's next sequence number and what it acknowledges.
  var peerSeq: UInt32 = 0x1000_0000
  var peerAck: UInt32 = 0
  var peerWindow: UInt16 = 65535

  init(_ configuration: TCPConfiguration = TCPConfiguration()) { tcp = TCP(configuration: configuration) }

  mutating func deliver(_ s: TCPWireSegment) {
    let bytes = s.encoded()
    bytes.withUnsafeBytes {
      tcp.input(source: s.source, destination: s.destination, segment: $0, now: now, output: &out)
    }
  }

  mutating func deliverRaw(_ bytes: [UInt8], source: IPv4Address? = nil, destination: IPv4Address? = nil) {
    bytes.withUnsafeBytes {
      tcp.input(source: source ?? peer, destination: destination ?? local, segment: $0, now: now, output: &out)
    }
  }

  /// A segment from the peer with the rig's current numbers unless overridden.
  func segment(
    _ flags: UInt8, seq: UInt32? = nil, ack: UInt32? = nil, payload: [UInt8] = [], window: UInt16? = nil,
    mss: UInt16? = nil, windowScale: UInt8? = nil
  ) -> TCPWireSegment {
    TCPWireSegment(
      source: peer, destination: local, sourcePort: peerPort, destinationPort: localPort, seq: seq ?? peerSeq,
      ack: ack ?? peerAck, flags: flags, window: window ?? peerWindow, mss: mss, windowScale: windowScale,
      payload: payload)
  }

  /// Sends data from the peer at its current sequence number and advances it.
  mutating func peerSends(_ payload: [UInt8], flags: UInt8 = TCPFlag.ack | TCPFlag.psh) {
    deliver(segment(flags, payload: payload))
    peerSeq &+= UInt32(payload.count) + (flags & TCPFlag.fin != 0 ? 1 : 0)
  }

  mutating func peerAcks(_ ack: UInt32, window: UInt16? = nil) {
    peerAck = ack
    if let window { peerWindow = window }
    deliver(segment(TCPFlag.ack))
  }

  mutating func take() -> [TCPWireSegment] { out.take() }

  /// Moves the clock to `t`, running every timer due on the way.
  mutating func run(until t: UInt64) {
    while let d = tcp.nextDeadline, d <= t {
      now = max(now, d)
      tcp.tick(now: now, output: &out)
    }
    now = max(now, t)
  }

  mutating func advance(_ d: UInt64) { run(until: now + d) }

  /// Runs only to the next deadline (fails if there is none).
  mutating func fireNext(file: StaticString = #filePath, line: UInt = #line) {
    guard let d = tcp.nextDeadline else {
      XCTFail("no timer is armed", file: file, line: line)
      return
    }
    now = max(now, d)
    tcp.tick(now: now, output: &out)
  }

  mutating func send(_ id: TCPConnectionID, _ bytes: [UInt8]) throws(TCPError) -> Int {
    var result: Result<Int, TCPError> = .success(0)
    bytes.withUnsafeBytes { b in
      do throws(TCPError) { result = .success(try tcp.send(id, b, now: now, output: &out)) } catch {
        result = .failure(error)
      }
    }
    return try result.get()
  }

  mutating func receive(_ id: TCPConnectionID, max: Int = 1 << 20) throws(TCPError) -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: max)
    var result: Result<Int, TCPError> = .success(0)
    buffer.withUnsafeMutableBytes { b in
      do throws(TCPError) { result = .success(try tcp.receive(id, into: b, now: now, output: &out)) } catch {
        result = .failure(error)
      }
    }
    let n = try result.get()
    return Array(buffer[0..<n])
  }

  /// Everything readable now (empty when it would block).
  mutating func drain(_ id: TCPConnectionID) -> [UInt8] {
    var all: [UInt8] = []
    while let chunk = try? receive(id, max: 4096), !chunk.isEmpty { all += chunk }
    return all
  }

  mutating func close(_ id: TCPConnectionID) throws(TCPError) { try tcp.close(id, now: now, output: &out) }
  mutating func abort(_ id: TCPConnectionID) { tcp.abort(id, now: now, output: &out) }

  /// Passive open through the three-way handshake; returns the accepted
  /// id and our ISN. Leaves the peer's numbers in the rig.
  mutating func accept(
    peerMSS: UInt16? = 1460, peerScale: UInt8? = nil, backlog: Int = 4, rtt: UInt64 = 0,
    file: StaticString = #filePath, line: UInt = #line
  ) -> (listener: TCPConnectionID, id: TCPConnectionID, iss: UInt32)? {
    guard let listener = try? tcp.listen(port: localPort, backlog: backlog) else {
      XCTFail("listen failed", file: file, line: line)
      return nil
    }
    guard let (id, iss) = handshake(listener: listener, peerMSS: peerMSS, peerScale: peerScale, rtt: rtt) else {
      XCTFail("handshake failed", file: file, line: line)
      return nil
    }
    return (listener, id, iss)
  }

  mutating func handshake(
    listener: TCPConnectionID, peerMSS: UInt16?, peerScale: UInt8?, rtt: UInt64 = 0
  ) -> (TCPConnectionID, UInt32)? {
    _ = take()
    deliver(segment(TCPFlag.syn, ack: 0, mss: peerMSS, windowScale: peerScale))
    let reply = take()
    guard reply.count == 1, reply[0].flags == TCPFlag.syn | TCPFlag.ack, reply[0].ack == peerSeq &+ 1 else {
      return nil
    }
    peerSeq &+= 1
    let iss = reply[0].seq
    now += rtt
    peerAcks(iss &+ 1)
    guard let id = try? tcp.accept(listener) else { return nil }
    return (id, iss)
  }

  /// Active open to the peer; returns the id and our ISN.
  mutating func connect(
    peerMSS: UInt16? = 1460, peerScale: UInt8? = nil, rtt: UInt64 = 0, file: StaticString = #filePath,
    line: UInt = #line
  ) -> (id: TCPConnectionID, iss: UInt32)? {
    guard let id = try? tcp.connect(to: peer, port: peerPort, now: now, output: &out) else {
      XCTFail("connect failed", file: file, line: line)
      return nil
    }
    let syn = take()
    guard syn.count == 1, syn[0].flags == TCPFlag.syn else {
      XCTFail("no SYN: \(syn)", file: file, line: line)
      return nil
    }
    localPort = syn[0].sourcePort
    now += rtt
    peerAck = syn[0].seq &+ 1
    deliver(segment(TCPFlag.syn | TCPFlag.ack, mss: peerMSS, windowScale: peerScale))
    peerSeq &+= 1
    let ack = take()
    guard ack.count == 1, ack[0].isPureAck, ack[0].ack == peerSeq else {
      XCTFail("no ACK of the SYN-ACK: \(ack)", file: file, line: line)
      return nil
    }
    return (id, syn[0].seq)
  }
}

func tcpPattern(_ n: Int, seed: UInt64) -> [UInt8] {
  var r = SplitMix64(seed: seed)
  return r.bytes(n)
}
