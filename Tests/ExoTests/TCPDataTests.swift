// TCP data transfer: ACKs and delayed ACKs, reordering and reassembly,
// duplicates and overlaps, the bound on held ranges, zero windows and the
// persist timer, receiver and sender silly-window avoidance (Nagle), a full
// send buffer, end of stream, and sequence numbers across 2^32.
import XCTest

@testable import LibOSNet

final class TCPDataTests: XCTestCase {
  func testDataBothWaysIsAcknowledged() throws {
    var rig = TCPRig()
    let (_, id, iss) = try XCTUnwrap(rig.accept())
    let incoming = tcpPattern(2000, seed: 2)
    let start = rig.peerSeq
    rig.peerSends(Array(incoming[0..<1000]))
    XCTAssertEqual(rig.take(), [])  // the first segment's ACK is delayed
    XCTAssertEqual(rig.tcp.readiness(id), [.readable, .writable])
    rig.peerSends(Array(incoming[1000..<2000]))
    let ack = try XCTUnwrap(rig.take().first)  // every second segment is acknowledged at once
    XCTAssertTrue(ack.isPureAck)
    XCTAssertEqual(ack.ack, start &+ 2000)
    XCTAssertEqual(ack.window, 32768 - 2000)
    XCTAssertEqual(rig.drain(id), incoming)

    let outgoing = tcpPattern(3000, seed: 3)
    XCTAssertEqual(try rig.send(id, outgoing), 3000)
    var segments = rig.take()
    // Initial window 4380: two full segments; Nagle holds the 80-byte tail while they are out.
    XCTAssertEqual(segments.map(\.payload.count), [1460, 1460])
    XCTAssertEqual(segments.map(\.seq), [iss &+ 1, iss &+ 1461])
    XCTAssertTrue(segments.allSatisfy { $0.ack == start &+ 2000 && $0.checksumValid })
    rig.peerAcks(iss &+ 2921)
    segments = rig.take()
    XCTAssertEqual(segments.map(\.payload.count), [80])
    XCTAssertEqual(segments.first?.flags, TCPFlag.ack | TCPFlag.psh)
    XCTAssertEqual(Array(segments.flatMap(\.payload)), Array(outgoing[2920...]))
    rig.peerAcks(iss &+ 3001)
    XCTAssertEqual(rig.tcp.info(id)?.bytesQueued, 0)
    XCTAssertNil(rig.tcp.nextDeadline)
  }

  func testDelayedAckTimerAndPiggybacking() throws {
    var rig = TCPRig()
    let (_, id, _) = try XCTUnwrap(rig.accept())
    rig.peerSends([1, 2, 3])
    XCTAssertEqual(rig.tcp.nextDeadline, rig.now + 200_000)
    rig.advance(199_999)
    XCTAssertEqual(rig.take(), [])
    rig.advance(1)
    let ack = try XCTUnwrap(rig.take().first)
    XCTAssertEqual(ack.ack, rig.peerSeq)
    XCTAssertEqual(rig.tcp.statistics.delayedAcks, 1)
    // Data going the other way carries the ACK and cancels the timer.
    rig.peerSends([4])
    XCTAssertEqual(try rig.send(id, [9, 9]), 2)
    let data = try XCTUnwrap(rig.take().first)
    XCTAssertEqual(data.ack, rig.peerSeq)
    XCTAssertEqual(data.payload, [9, 9])
    XCTAssertEqual(rig.tcp.nextDeadline, rig.now + 200_000)  // now the retransmission timer (RTO 200 ms)
    rig.peerAcks(data.seq &+ 2)
    XCTAssertNil(rig.tcp.nextDeadline)
    XCTAssertEqual(rig.tcp.statistics.delayedAcks, 1)
  }

  func testOutOfOrderDataIsHeldAndDeliveredInOrderWhenTheHoleFills() throws {
    var rig = TCPRig()
    let (_, id, _) = try XCTUnwrap(rig.accept())
    let data = tcpPattern(3000, seed: 4)
    let base = rig.peerSeq
    func piece(_ r: Range<Int>) -> TCPWireSegment {
      rig.segment(TCPFlag.ack, seq: base &+ UInt32(r.lowerBound), payload: Array(data[r]))
    }
    rig.deliver(piece(2000..<3000))
    rig.deliver(piece(1000..<2000))
    let dupAcks = rig.take()
    XCTAssertEqual(dupAcks.map(\.ack), [base, base])  // at once, for fast retransmit (RFC 5681 §4.2)
    XCTAssertFalse(rig.tcp.readiness(id).contains(.readable))
    XCTAssertThrowsError(try rig.receive(id)) { XCTAssertEqual($0 as? TCPError, .wouldBlock) }
    XCTAssertEqual(rig.tcp.statistics.outOfOrderSegments, 2)
    // The held bytes already count against the window.
    XCTAssertEqual(dupAcks.last?.window, 32768)
    rig.deliver(piece(0..<1000))
    let ack = try XCTUnwrap(rig.take().first)  // filling the hole is acknowledged at once
    XCTAssertEqual(ack.ack, base &+ 3000)
    XCTAssertEqual(rig.drain(id), data)
  }

  func testDuplicatesAndOverlapsAreTrimmed() throws {
    var rig = TCPRig()
    let (_, id, _) = try XCTUnwrap(rig.accept())
    let data = tcpPattern(3000, seed: 5)
    let base = rig.peerSeq
    func piece(_ r: Range<Int>) -> TCPWireSegment {
      rig.segment(TCPFlag.ack, seq: base &+ UInt32(r.lowerBound), payload: Array(data[r]))
    }
    rig.deliver(piece(0..<1000))
    rig.deliver(piece(0..<1000))  // a duplicate: answered with an ACK at once
    XCTAssertEqual(rig.take().map(\.ack), [base &+ 1000])
    XCTAssertEqual(rig.tcp.statistics.unacceptableSegments, 1)
    rig.deliver(piece(500..<1500))  // overlaps what we have: only the new half counts
    rig.deliver(piece(2000..<2500))
    rig.deliver(piece(2200..<3000))
    rig.deliver(piece(1800..<2100))
    rig.deliver(piece(2000..<2500))
    XCTAssertEqual(rig.tcp.info(id)?.receiveNext, TCPSequence(base &+ 1500))
    rig.deliver(piece(1400..<1900))
    XCTAssertEqual(rig.tcp.info(id)?.receiveNext, TCPSequence(base &+ 3000))
    XCTAssertEqual(rig.drain(id), data)
    // Anything already delivered is refused, even with the FIN flag.
    var old = piece(2500..<3000)
    old.flags |= TCPFlag.fin
    old.seq = base &+ 2000
    rig.deliver(old)
    XCTAssertEqual(rig.tcp.state(id), .established)
  }

  func testHeldRangesAreBounded() throws {
    var config = TCPConfiguration()
    config.maxOutOfOrderRanges = 2
    var rig = TCPRig(config)
    let (_, id, _) = try XCTUnwrap(rig.accept())
    let data = tcpPattern(5200, seed: 6)
    let base = rig.peerSeq
    func piece(_ r: Range<Int>) -> TCPWireSegment {
      rig.segment(TCPFlag.ack, seq: base &+ UInt32(r.lowerBound), payload: Array(data[r]))
    }
    rig.deliver(piece(1000..<1100))
    rig.deliver(piece(3000..<3100))
    rig.deliver(piece(5000..<5100))  // a third range: dropped
    XCTAssertEqual(rig.tcp.statistics.outOfOrderDropped, 1)
    rig.deliver(piece(1100..<1200))  // extends a held range: kept
    XCTAssertEqual(rig.tcp.statistics.outOfOrderDropped, 1)
    rig.deliver(piece(0..<1000))
    rig.deliver(piece(1200..<3000))
    XCTAssertEqual(rig.tcp.info(id)?.receiveNext, TCPSequence(base &+ 3100))
    rig.deliver(piece(3100..<5200))
    XCTAssertEqual(rig.drain(id), data)
  }

  func testZeroWindowIsProbedWithBackoffUntilItOpens() throws {
    var rig = TCPRig()
    let (_, id, iss) = try XCTUnwrap(rig.accept())
    let data = tcpPattern(3000, seed: 7)
    XCTAssertEqual(try rig.send(id, data), 3000)
    XCTAssertEqual(rig.take().count, 2)
    rig.peerAcks(iss &+ 2921, window: 0)
    XCTAssertEqual(rig.take(), [])  // the 80 bytes wait
    let t0 = rig.now
    XCTAssertEqual(rig.tcp.nextDeadline, t0 + 200_000)  // one RTO
    rig.fireNext()
    var probe = try XCTUnwrap(rig.take().first)
    XCTAssertEqual(probe.seq, iss &+ 2921)
    XCTAssertEqual(probe.payload, [data[2920]])
    XCTAssertEqual(rig.tcp.nextDeadline, t0 + 600_000)  // then backed off
    rig.peerAcks(iss &+ 2921, window: 0)  // still closed: the byte was not taken
    XCTAssertEqual(rig.take(), [])
    rig.fireNext()
    probe = try XCTUnwrap(rig.take().first)
    XCTAssertEqual(rig.now, t0 + 600_000)
    XCTAssertEqual(probe.seq, iss &+ 2921)
    XCTAssertEqual(rig.tcp.nextDeadline, t0 + 1_400_000)
    // The receiver took the probe byte but is full again.
    rig.peerAcks(iss &+ 2922, window: 0)
    rig.fireNext()
    XCTAssertEqual(rig.take().first?.seq, iss &+ 2922)
    XCTAssertEqual(rig.tcp.statistics.windowProbes, 3)
    XCTAssertEqual(rig.tcp.state(id), .established)
    // It opens: the rest goes at once.
    rig.peerAcks(iss &+ 2922, window: 1000)
    let rest = rig.take()
    XCTAssertEqual(rest.first?.seq, iss &+ 2922)
    XCTAssertEqual(rest.flatMap(\.payload), Array(data[2921...]))
    rig.peerAcks(iss &+ 3001, window: 1000)
    XCTAssertNil(rig.tcp.nextDeadline)
  }

  func testUnansweredWindowProbesTimeOut() throws {
    var config = TCPConfiguration()
    config.maxRetransmissions = 3
    var rig = TCPRig(config)
    let (_, id, iss) = try XCTUnwrap(rig.accept())
    _ = try rig.send(id, [1, 2, 3])
    rig.peerAcks(iss &+ 1, window: 0)  // acknowledges nothing, closes the window
    for _ in 0..<3 { rig.fireNext() }
    XCTAssertEqual(rig.take().filter { $0.payload.count == 1 }.count, 3)
    XCTAssertEqual(rig.tcp.state(id), .established)
    rig.fireNext()
    XCTAssertEqual(rig.tcp.state(id), .closed)
    XCTAssertThrowsError(try rig.send(id, [1])) { XCTAssertEqual($0 as? TCPError, .timedOut) }
  }

  /// RFC 9293 §3.10.7.4: the window is taken only from a segment newer
  /// than the last one used (SND.WL1, SND.WL2), never from an old ACK.
  func testWindowUpdatesFollowWL1AndWL2() throws {
    var rig = TCPRig()
    let (_, id, iss) = try XCTUnwrap(rig.accept())
    _ = try rig.send(id, tcpPattern(1000, seed: 13))
    _ = rig.take()
    let s = rig.peerSeq
    rig.deliver(rig.segment(TCPFlag.ack, seq: s, ack: iss &+ 1001, window: 30000))
    XCTAssertEqual(rig.tcp.info(id)?.sendWindow, 30000)
    rig.deliver(rig.segment(TCPFlag.ack, seq: s, ack: iss &+ 501, window: 1000))  // an older ACK, reordered
    XCTAssertEqual(rig.tcp.info(id)?.sendWindow, 30000)
    rig.deliver(rig.segment(TCPFlag.ack, seq: s, ack: iss &+ 1001, window: 2000))  // same numbers: taken
    XCTAssertEqual(rig.tcp.info(id)?.sendWindow, 2000)
    rig.deliver(rig.segment(TCPFlag.ack, seq: s, ack: iss &+ 1001, payload: [1, 2], window: 40000))
    XCTAssertEqual(rig.tcp.info(id)?.sendWindow, 40000)
    rig.deliver(rig.segment(TCPFlag.ack, seq: s &+ 2, ack: iss &+ 1001, window: 500))  // newer SEG.SEQ
    XCTAssertEqual(rig.tcp.info(id)?.sendWindow, 500)
  }

  func testReceiveWindowClosesAndReopensWithoutSillyWindows() throws {
    var config = TCPConfiguration()
    config.receiveBufferSize = 4096
    var rig = TCPRig(config)
    let (_, id, _) = try XCTUnwrap(rig.accept())
    let data = tcpPattern(4096, seed: 8)
    rig.peerSends(Array(data[0..<1460]))
    rig.peerSends(Array(data[1460..<2920]))
    XCTAssertEqual(rig.take().map(\.window), [4096 - 2920])
    rig.peerSends(Array(data[2920..<4096]))
    rig.advance(200_000)
    let full = try XCTUnwrap(rig.take().first)
    XCTAssertEqual(full.ack, rig.peerSeq)
    XCTAssertEqual(full.window, 0)
    // Data into a zero window is not taken; the ACK repeats the zero window.
    rig.deliver(rig.segment(TCPFlag.ack, payload: [1, 2, 3]))
    XCTAssertEqual(rig.take().map { [$0.window] }, [[0]])
    XCTAssertEqual(try rig.receive(id, max: 100).count, 100)
    XCTAssertEqual(rig.take(), [])  // 100 bytes of room is a silly window: not offered
    rig.deliver(rig.segment(TCPFlag.ack, payload: [1]))  // a probe
    XCTAssertEqual(rig.take().first?.window, 0)
    XCTAssertEqual(try rig.receive(id, max: 1400).count, 1400)
    let update = try XCTUnwrap(rig.take().first)  // 1500 >= min(MSS, half the buffer)
    XCTAssertEqual(update.window, 1500)
    XCTAssertEqual(update.ack, rig.peerSeq)
    XCTAssertEqual(rig.drain(id), Array(data[1500...]))
    XCTAssertEqual(rig.take().first?.window, 4096)
  }

  func testNagleHoldsSmallWritesWhileDataIsOutUnlessTurnedOff() throws {
    var rig = TCPRig()
    let (_, id, iss) = try XCTUnwrap(rig.accept())
    _ = try rig.send(id, [UInt8](repeating: 1, count: 10))
    XCTAssertEqual(rig.take().map(\.payload.count), [10])
    _ = try rig.send(id, [UInt8](repeating: 2, count: 10))
    _ = try rig.send(id, [UInt8](repeating: 3, count: 10))
    XCTAssertEqual(rig.take(), [])
    rig.peerAcks(iss &+ 11)
    let coalesced = rig.take()
    XCTAssertEqual(coalesced.map(\.payload.count), [20])
    try rig.tcp.setNoDelay(id, true, now: rig.now, output: &rig.out)
    _ = try rig.send(id, [4, 4])
    _ = try rig.send(id, [5])
    XCTAssertEqual(rig.take().map(\.payload), [[4, 4], [5]])
    XCTAssertEqual(rig.tcp.info(id)?.noDelay, true)
  }

  func testFullSendBufferBlocksUntilAcknowledged() throws {
    var config = TCPConfiguration()
    config.sendBufferSize = 4096
    var rig = TCPRig(config)
    let (_, id, iss) = try XCTUnwrap(rig.accept())
    XCTAssertEqual(try rig.send(id, tcpPattern(10000, seed: 9)), 4096)
    XCTAssertThrowsError(try rig.send(id, [1])) { XCTAssertEqual($0 as? TCPError, .wouldBlock) }
    XCTAssertFalse(rig.tcp.readiness(id).contains(.writable))
    XCTAssertEqual(try rig.send(id, []), 0)
    rig.peerAcks(iss &+ 1461)
    XCTAssertTrue(rig.tcp.readiness(id).contains(.writable))
    XCTAssertEqual(try rig.send(id, tcpPattern(5000, seed: 10)), 1460)
  }

  func testEndOfStreamReadsAsZeroAfterTheData() throws {
    var rig = TCPRig()
    let (_, id, _) = try XCTUnwrap(rig.accept())
    rig.peerSends([7, 8, 9], flags: TCPFlag.ack | TCPFlag.fin)
    let ack = try XCTUnwrap(rig.take().first)  // a FIN is acknowledged at once
    XCTAssertEqual(ack.ack, rig.peerSeq)
    XCTAssertEqual(rig.tcp.state(id), .closeWait)
    XCTAssertEqual(rig.tcp.readiness(id), [.readable, .writable, .hangup])
    XCTAssertEqual(try rig.receive(id), [7, 8, 9])
    XCTAssertEqual(try rig.receive(id), [])
    XCTAssertEqual(try rig.receive(id), [])
    XCTAssertThrowsError(
      try rig.tcp.receive(id, into: UnsafeMutableRawBufferPointer(start: nil, count: 0), now: rig.now, output: &rig.out)
    ) {
      XCTAssertEqual($0 as? TCPError, .badArgument)
    }
  }

  func testOutOfOrderFinWaitsForTheData() throws {
    var rig = TCPRig()
    let (_, id, _) = try XCTUnwrap(rig.accept())
    let base = rig.peerSeq
    rig.deliver(rig.segment(TCPFlag.ack | TCPFlag.fin, seq: base &+ 5, payload: [6, 7]))
    XCTAssertEqual(rig.take().map(\.ack), [base])
    XCTAssertEqual(rig.tcp.state(id), .established)
    rig.deliver(rig.segment(TCPFlag.ack, seq: base, payload: [1, 2, 3, 4, 5]))
    XCTAssertEqual(rig.take().map(\.ack), [base &+ 8])
    XCTAssertEqual(rig.tcp.state(id), .closeWait)
    XCTAssertEqual(rig.drain(id), [1, 2, 3, 4, 5, 6, 7])
    XCTAssertEqual(try rig.receive(id), [])
  }

  /// Picks the clock so that our ISN is just below 2^32 (the ISN is the
  /// keyed hash plus now/4, and the first ephemeral port is a function of
  /// the seed), and the peer's too: both directions wrap mid-transfer.
  func testSequenceNumbersWrapInBothDirections() throws {
    var config = TCPConfiguration()
    config.seed = 0x1234_5678
    var probe = TCPRig(config)
    probe.now = 0
    let isn0 = try XCTUnwrap(probe.connect()).iss
    var rig = TCPRig(config)
    rig.now = 4 * UInt64(UInt32(0xffff_f000) &- isn0)
    rig.peerSeq = 0xffff_ef00
    let (id, iss) = try XCTUnwrap(rig.connect())
    XCTAssertEqual(iss, 0xffff_f000)

    let outgoing = tcpPattern(20000, seed: 11)
    var sent = 0
    var received: [UInt8] = []
    var expected = iss &+ 1
    while received.count < outgoing.count {
      if sent < outgoing.count, let n = try? rig.send(id, Array(outgoing[sent...])) { sent += n }
      let segments = rig.take()
      XCTAssertFalse(segments.isEmpty)
      for s in segments where !s.payload.isEmpty {
        XCTAssertEqual(s.seq, expected)
        expected = s.seq &+ UInt32(s.payload.count)
        received += s.payload
      }
      rig.now += 1000
      rig.peerAcks(expected)
    }
    XCTAssertEqual(received, outgoing)
    XCTAssertLessThan(expected, iss)  // wrapped

    let incoming = tcpPattern(20000, seed: 12)
    var got: [UInt8] = []
    for chunk in stride(from: 0, to: incoming.count, by: 1000) {
      rig.peerSends(Array(incoming[chunk..<(chunk + 1000)]))
      got += rig.drain(id)
    }
    XCTAssertEqual(got, incoming)
    XCTAssertLessThan(rig.peerSeq, 0x1_0000)  // wrapped
    XCTAssertEqual(rig.tcp.info(id)?.receiveNext, TCPSequence(rig.peerSeq))
    rig.advance(200_000)
    XCTAssertEqual(rig.take().last?.ack, rig.peerSeq)
  }
}
