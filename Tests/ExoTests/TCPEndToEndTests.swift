// Two TCP instances talking through a simulated link that loses, corrupts,
// duplicates and reorders segments (a seeded generator decides): a few
// hundred KB each way, checked byte for byte, both sides closing, always
// finishing within a bound on virtual time and steps.
import XCTest

@testable import LibOSNet

final class TCPEndToEndTests: XCTestCase {
  struct Link {
    struct Packet {
      var at: UInt64
      var order: Int
      var toB: Bool
      var source: IPv4Address
      var destination: IPv4Address
      var bytes: [UInt8]
    }
    var random: SplitMix64
    var loss: Double
    var duplicate: Double
    var corrupt: Double
    var delay: UInt64
    var jitter: UInt64
    var packets: [Packet] = []
    var order = 0
    var carried = 0

    mutating func carry(_ out: inout TCPRecorder, toB: Bool, now: UInt64) {
      for (destination, bytes) in out.raw {
        carried += 1
        if random.chance(loss) { continue }
        let copies = random.chance(duplicate) ? 2 : 1
        for _ in 0..<copies {
          var b = bytes
          if random.chance(corrupt), !b.isEmpty { b[random.below(b.count)] ^= UInt8(1 + random.below(255)) }
          order += 1
          packets.append(
            Packet(
              at: now + delay + UInt64(random.below(Int(jitter) + 1)), order: order, toB: toB,
              source: out.localAddress, destination: destination, bytes: b))
        }
      }
      out.sent = []
      out.raw = []
    }

    var next: UInt64? { packets.map(\.at).min() }

    mutating func due(_ now: UInt64) -> [Packet] {
      let ready = packets.filter { $0.at <= now }.sorted { ($0.at, $0.order) < ($1.at, $1.order) }
      packets.removeAll { $0.at <= now }
      return ready
    }
  }

  /// One side's app: writes its data as fast as TCP takes it, then closes;
  /// reads everything until end of stream.
  struct App {
    var data: [UInt8]
    var sent = 0
    var closed = false
    var received: [UInt8] = []
    var endOfStream = false
    /// When set, the app reads only in the first tenth of every period of
    /// this many microseconds, so the peer's window stays closed in between.
    var readPeriod: UInt64? = nil

    /// When a slow reader next wakes up to read on its own.
    func wake(after now: UInt64) -> UInt64? {
      guard let period = readPeriod, !endOfStream else { return nil }
      return (now / period + 1) * period
    }

    mutating func pump(_ tcp: inout TCP, _ id: TCPConnectionID, now: UInt64, out: inout TCPRecorder) throws {
      while sent < data.count {
        let n: Int? = data[sent...].withUnsafeBytes { b in try? tcp.send(id, b, now: now, output: &out) }
        guard let n else { break }
        sent += n
      }
      if sent == data.count && !closed {
        try tcp.close(id, now: now, output: &out)
        closed = true
      }
      if let period = readPeriod, now % period >= period / 10 { return }
      var buffer = [UInt8](repeating: 0, count: 8192)
      while !endOfStream {
        var result: Result<Int, TCPError> = .success(0)
        buffer.withUnsafeMutableBytes { b in
          do throws(TCPError) { result = .success(try tcp.receive(id, into: b, now: now, output: &out)) } catch {
            result = .failure(error)
          }
        }
        switch result {
        case .success(0): endOfStream = true
        case .success(let n): received += buffer[0..<n]
        case .failure(.wouldBlock): return
        case .failure(let e): throw e
        }
      }
    }
  }

  struct Outcome {
    var virtualTime: UInt64
    var steps: Int
    var carried: Int
    var a: TCPStatistics
    var b: TCPStatistics
  }

  func transfer(
    seed: UInt64, size: Int, loss: Double, duplicate: Double, corrupt: Double, configuration: TCPConfiguration,
    slowReaderB: UInt64? = nil, timeLimit: UInt64 = 900_000_000, file: StaticString = #filePath, line: UInt = #line
  ) throws -> Outcome {
    var ca = configuration
    ca.seed = seed
    var cb = configuration
    cb.seed = seed ^ 0xffff
    var tcpA = TCP(configuration: ca)
    var tcpB = TCP(configuration: cb)
    let addressA = IPv4Address(192, 168, 1, 10)
    let addressB = IPv4Address(192, 168, 1, 20)
    var outA = TCPRecorder(localAddress: addressA)
    var outB = TCPRecorder(localAddress: addressB)
    var link = Link(
      random: SplitMix64(seed: seed), loss: loss, duplicate: duplicate, corrupt: corrupt, delay: 5_000,
      jitter: 10_000)
    var appA = App(data: tcpPattern(size, seed: seed &+ 1))
    var appB = App(data: tcpPattern(size + 777, seed: seed &+ 2))
    appB.readPeriod = slowReaderB
    var now: UInt64 = 1_000_000
    let listener = try tcpB.listen(port: 80, backlog: 4)
    let a = try tcpA.connect(to: addressB, port: 80, now: now, output: &outA)
    var b: TCPConnectionID? = nil
    var steps = 0
    func finished(_ s: TCPState?) -> Bool { s == nil || s == .timeWait || s == .closed }
    while true {
      steps += 1
      guard steps < 400_000, now < timeLimit else {
        XCTFail("did not finish: steps \(steps), t \(now)", file: file, line: line)
        break
      }
      if b == nil, let id = try? tcpB.accept(listener) { b = id }
      try appA.pump(&tcpA, a, now: now, out: &outA)
      if let b { try appB.pump(&tcpB, b, now: now, out: &outB) }
      link.carry(&outA, toB: true, now: now)
      link.carry(&outB, toB: false, now: now)
      if appA.endOfStream && appB.endOfStream, let b, finished(tcpA.state(a)), finished(tcpB.state(b)) { break }
      guard
        let next = [link.next, tcpA.nextDeadline, tcpB.nextDeadline, appB.wake(after: now)].compactMap({ $0 }).min()
      else {
        XCTFail("stalled with nothing to do", file: file, line: line)
        break
      }
      now = max(now, next)
      for p in link.due(now) {
        p.bytes.withUnsafeBytes { bytes in
          if p.toB {
            tcpB.input(source: p.source, destination: p.destination, segment: bytes, now: now, output: &outB)
          } else {
            tcpA.input(source: p.source, destination: p.destination, segment: bytes, now: now, output: &outA)
          }
        }
      }
      tcpA.tick(now: now, output: &outA)
      tcpB.tick(now: now, output: &outB)
    }
    XCTAssertEqual(appB.received.count, appA.data.count, file: file, line: line)
    XCTAssertTrue(appB.received == appA.data, "A to B differs", file: file, line: line)
    XCTAssertEqual(appA.received.count, appB.data.count, file: file, line: line)
    XCTAssertTrue(appA.received == appB.data, "B to A differs", file: file, line: line)
    return Outcome(virtualTime: now, steps: steps, carried: link.carried, a: tcpA.statistics, b: tcpB.statistics)
  }

  func testCleanLinkTransfersBothWays() throws {
    let o = try transfer(
      seed: 40, size: 300_000, loss: 0, duplicate: 0, corrupt: 0, configuration: TCPConfiguration())
    XCTAssertEqual(o.a.retransmissionTimeouts + o.b.retransmissionTimeouts, 0)
    XCTAssertEqual(o.a.badChecksums + o.b.badChecksums, 0)
  }

  func testLossyReorderingDuplicatingLinkTransfersBothWaysByteForByte() throws {
    for seed: UInt64 in [41, 42, 43, 44] {
      let o = try transfer(
        seed: seed, size: 300_000, loss: 0.03, duplicate: 0.02, corrupt: 0.01, configuration: TCPConfiguration())
      // The link really misbehaved, and TCP really recovered.
      XCTAssertGreaterThan(o.a.badChecksums + o.b.badChecksums, 0, "seed \(seed)")
      XCTAssertGreaterThan(o.a.outOfOrderSegments + o.b.outOfOrderSegments, 0, "seed \(seed)")
      XCTAssertGreaterThan(o.a.retransmittedSegments + o.b.retransmittedSegments, 0, "seed \(seed)")
      XCTAssertGreaterThan(o.a.unacceptableSegments + o.b.unacceptableSegments, 0, "seed \(seed)")
    }
  }

  func testHeavyLossWithScalingSmallSegmentsAndNoNagle() throws {
    var config = TCPConfiguration()
    config.receiveBufferSize = 200 * 1024
    config.sendBufferSize = 64 * 1024
    config.mss = 536
    config.nagle = false
    config.maxOutOfOrderRanges = 3
    let o = try transfer(seed: 45, size: 200_000, loss: 0.10, duplicate: 0.05, corrupt: 0.02, configuration: config)
    XCTAssertGreaterThan(o.a.fastRetransmits + o.b.fastRetransmits, 0)
  }

  func testSlowReaderClosesTheWindowAndTheTransferStillCompletes() throws {
    var config = TCPConfiguration()
    config.receiveBufferSize = 16 * 1024
    let o = try transfer(
      seed: 46, size: 150_000, loss: 0.03, duplicate: 0.01, corrupt: 0.01, configuration: config,
      slowReaderB: 2_000_000)
    XCTAssertGreaterThan(o.a.windowProbes, 0)  // A had to probe B's closed window
  }
}
