// TCP loss recovery: RTO retransmission with RFC 6298 timer values and
// backoff, Karn's algorithm, the retransmission limit, fast retransmit and
// NewReno recovery with partial and full ACKs (cwnd and ssthresh checked at
// each step), and the estimator and congestion arithmetic on their own.
import XCTest

@testable import LibOSNet

final class TCPRetransmissionTests: XCTestCase {
  func testLostSegmentIsRetransmittedOnTheBackedOffRTO() throws {
    var rig = TCPRig()
    let (_, id, iss) = try XCTUnwrap(rig.accept(rtt: 100_000))
    // First sample R = 100 ms: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR = 300 ms.
    XCTAssertEqual(rig.tcp.info(id)?.smoothedRTT, 100_000)
    XCTAssertEqual(rig.tcp.info(id)?.retransmissionTimeout, 300_000)
    let data = tcpPattern(1000, seed: 20)
    let t0 = rig.now
    _ = try rig.send(id, data)
    let original = try XCTUnwrap(rig.take().first)
    XCTAssertEqual(rig.tcp.nextDeadline, t0 + 300_000)
    var times: [UInt64] = []
    for _ in 0..<3 {
      rig.fireNext()
      let again = try XCTUnwrap(rig.take().first)
      XCTAssertEqual(again.seq, original.seq)
      XCTAssertEqual(again.payload, data)
      times.append(rig.now - t0)
    }
    XCTAssertEqual(times, [300_000, 900_000, 2_100_000])  // 300, then 600, then 1200 ms
    XCTAssertEqual(rig.tcp.nextDeadline, t0 + 4_500_000)  // 2400 ms more
    var info = try XCTUnwrap(rig.tcp.info(id))
    XCTAssertEqual(info.congestionWindow, 1460)  // the loss window
    XCTAssertEqual(info.slowStartThreshold, 2920)  // max(FlightSize/2, 2*SMSS), set once
    XCTAssertEqual(info.consecutiveTimeouts, 3)
    XCTAssertEqual(rig.tcp.statistics.retransmissionTimeouts, 3)

    // The ACK of a retransmitted segment gives no sample (Karn); the backoff stays.
    rig.now += 30_000
    rig.peerAcks(iss &+ 1001)
    info = try XCTUnwrap(rig.tcp.info(id))
    XCTAssertEqual(info.smoothedRTT, 100_000)
    XCTAssertEqual(info.retransmissionTimeout, 2_400_000)
    XCTAssertEqual(info.consecutiveTimeouts, 0)
    XCTAssertNil(rig.tcp.nextDeadline)
    // A clean sample of 50 ms ends the backoff (RFC 6298 §2.3 arithmetic).
    _ = try rig.send(id, [1, 2, 3])
    rig.now += 50_000
    rig.peerAcks(iss &+ 1004)
    info = try XCTUnwrap(rig.tcp.info(id))
    XCTAssertEqual(info.smoothedRTT, 93_750)  // 7/8 * 100 + 1/8 * 50
    XCTAssertEqual(info.rttVariance, 50_000)  // 3/4 * 50 + 1/4 * |100 - 50|
    XCTAssertEqual(info.retransmissionTimeout, 293_750)
  }

  func testRetransmissionLimitTimesTheConnectionOut() throws {
    var config = TCPConfiguration()
    config.maxRetransmissions = 3
    var rig = TCPRig(config)
    let (_, id, _) = try XCTUnwrap(rig.accept())
    _ = try rig.send(id, [1, 2, 3])
    _ = rig.take()
    for _ in 0..<3 { rig.fireNext() }
    XCTAssertEqual(rig.take().count, 3)
    XCTAssertEqual(rig.tcp.state(id), .established)
    rig.fireNext()
    XCTAssertEqual(rig.take(), [])  // gives up without another segment
    XCTAssertEqual(rig.tcp.state(id), .closed)
    XCTAssertTrue(rig.tcp.readiness(id).contains(.error))
    XCTAssertThrowsError(try rig.send(id, [1])) { XCTAssertEqual($0 as? TCPError, .timedOut) }
    XCTAssertThrowsError(try rig.receive(id)) { XCTAssertEqual($0 as? TCPError, .timedOut) }
    XCTAssertNil(rig.tcp.nextDeadline)
    rig.abort(id)  // the app lets go at once: the slot is free
    XCTAssertNil(rig.tcp.state(id))
    XCTAssertEqual(rig.take(), [])  // no reset from a connection already closed
  }

  func testTimeoutRestartsFromTheFirstUnacknowledgedByteInSlowStart() throws {
    var rig = TCPRig()
    let (_, id, iss) = try XCTUnwrap(rig.accept(peerMSS: 1000))
    let data = tcpPattern(4000, seed: 21)
    _ = try rig.send(id, data)
    XCTAssertEqual(rig.take().count, 4)  // IW = 4000
    rig.fireNext()  // all four lost: go back to SND.UNA with one segment
    XCTAssertEqual(rig.take().map(\.seq), [iss &+ 1])
    XCTAssertEqual(rig.tcp.info(id)?.slowStartThreshold, 2000)
    rig.peerAcks(iss &+ 1001)  // cwnd 2000: the next two
    XCTAssertEqual(rig.take().map(\.seq), [iss &+ 1001, iss &+ 2001])
    XCTAssertEqual(rig.tcp.info(id)?.congestionWindow, 2000)
    rig.peerAcks(iss &+ 3001)  // at ssthresh: congestion avoidance, +MSS*MSS/cwnd
    XCTAssertEqual(rig.tcp.info(id)?.congestionWindow, 2500)
    XCTAssertEqual(rig.take().map(\.seq), [iss &+ 3001])
    XCTAssertEqual(rig.tcp.statistics.retransmittedSegments, 4)  // all four were below SND.MAX
  }

  /// Ten-segment window, segments 4 and 8 lost: three duplicate ACKs start
  /// recovery, further duplicates inflate cwnd, the partial ACK retransmits
  /// the next hole and deflates, the full ACK ends recovery (RFC 6582).
  func testFastRetransmitAndNewRenoRecovery() throws {
    var rig = TCPRig()
    let (_, id, iss) = try XCTUnwrap(rig.accept(peerMSS: 1000))
    let b = iss &+ 1
    func s(_ k: UInt32) -> UInt32 { b &+ 1000 * k }
    _ = try rig.send(id, tcpPattern(30000, seed: 22))
    XCTAssertEqual(rig.take().map(\.seq), [s(0), s(1), s(2), s(3)])
    // Slow start: each ACK adds an MSS and releases two segments.
    for k: UInt32 in 1...4 { rig.peerAcks(s(k)) }
    XCTAssertEqual(rig.take().map(\.seq), (4...11).map { s($0) })
    var info = try XCTUnwrap(rig.tcp.info(id))
    XCTAssertEqual(info.congestionWindow, 8000)
    XCTAssertEqual(info.sendMax, TCPSequence(s(12)))

    // Segment 4 is lost; 5, 6, 7 arrive: three duplicates.
    rig.peerAcks(s(4))
    rig.peerAcks(s(4))
    XCTAssertEqual(rig.take(), [])
    rig.peerAcks(s(4))
    let retransmission = rig.take()
    XCTAssertEqual(retransmission.map(\.seq), [s(4)])
    XCTAssertEqual(retransmission.first?.payload.count, 1000)
    info = try XCTUnwrap(rig.tcp.info(id))
    XCTAssertTrue(info.inFastRecovery)
    XCTAssertEqual(info.slowStartThreshold, 4000)  // FlightSize 8000 / 2
    XCTAssertEqual(info.congestionWindow, 7000)  // ssthresh + 3 MSS
    XCTAssertEqual(rig.tcp.statistics.fastRetransmits, 1)

    // 8 is lost too; 9, 10, 11 arrive: each inflates cwnd by an MSS.
    rig.peerAcks(s(4))  // cwnd 8000: still no room
    XCTAssertEqual(rig.take(), [])
    rig.peerAcks(s(4))  // 9000: one new segment
    rig.peerAcks(s(4))  // 10000: another
    XCTAssertEqual(rig.take().map(\.seq), [s(12), s(13)])
    XCTAssertEqual(rig.tcp.info(id)?.congestionWindow, 10000)

    // The retransmitted 4 fills up to the next hole: a partial ACK.
    rig.now += 10_000
    rig.peerAcks(s(8))
    let afterPartial = rig.take()
    XCTAssertEqual(afterPartial.map(\.seq), [s(8), s(14)])  // the next hole at once, then one new
    info = try XCTUnwrap(rig.tcp.info(id))
    XCTAssertTrue(info.inFastRecovery)
    XCTAssertEqual(info.congestionWindow, 7000)  // 10000 - 4000 acknowledged + 1 MSS
    XCTAssertEqual(info.slowStartThreshold, 4000)
    XCTAssertEqual(rig.tcp.nextDeadline, rig.now + info.retransmissionTimeout)  // first partial ACK restarts it

    // Everything through 14 arrives: past `recover`, a full ACK.
    rig.peerAcks(s(15))
    info = try XCTUnwrap(rig.tcp.info(id))
    XCTAssertFalse(info.inFastRecovery)
    XCTAssertEqual(info.congestionWindow, 2000)  // min(ssthresh, max(FlightSize 0, MSS) + MSS)
    XCTAssertEqual(rig.take().map(\.seq), [s(15), s(16)])
    XCTAssertEqual(rig.tcp.statistics.retransmissionTimeouts, 0)
    XCTAssertEqual(rig.tcp.statistics.retransmittedSegments, 2)
  }

  func testDuplicateAcksBelowRecoverDoNotStartAnotherRecovery() throws {
    var rig = TCPRig()
    let (_, id, iss) = try XCTUnwrap(rig.accept(peerMSS: 1000))
    let b = iss &+ 1
    _ = try rig.send(id, tcpPattern(4000, seed: 23))
    _ = rig.take()
    rig.fireNext()  // a timeout: recover = SND.MAX = b + 4000
    _ = rig.take()
    rig.peerAcks(b &+ 1000)
    _ = rig.take()
    for _ in 0..<3 { rig.peerAcks(b &+ 1000) }  // duplicates for data sent before the timeout
    XCTAssertFalse(rig.tcp.info(id)?.inFastRecovery ?? true)
    XCTAssertEqual(rig.tcp.statistics.fastRetransmits, 0)
  }

  func testDataAndWindowUpdatesAreNotDuplicateAcks() throws {
    var rig = TCPRig()
    let (_, id, iss) = try XCTUnwrap(rig.accept(peerMSS: 1000))
    _ = try rig.send(id, tcpPattern(4000, seed: 24))
    _ = rig.take()
    rig.peerAcks(iss &+ 1, window: 60000)
    rig.peerAcks(iss &+ 1, window: 50000)
    rig.peerSends([1])
    rig.peerSends([2])
    XCTAssertEqual(rig.tcp.info(id)?.duplicateAcks, 0)
    XCTAssertEqual(rig.tcp.statistics.fastRetransmits, 0)
  }

  func testEstimatorArithmetic() {
    var rto = TCPRetransmissionTimeout(initial: 1_000_000, minimum: 200_000, maximum: 60_000_000, granularity: 1000)
    XCTAssertEqual(rto.current, 1_000_000)
    rto.sample(500_000)
    XCTAssertEqual(rto.current, 1_500_000)  // 500 + 4 * 250
    rto.sample(500_000)
    XCTAssertEqual(rto.srtt, 500_000)
    XCTAssertEqual(rto.rttvar, 187_500)
    XCTAssertEqual(rto.current, 1_250_000)
    for _ in 0..<10 { rto.backOff() }
    XCTAssertEqual(rto.current, 60_000_000)  // the ceiling
    rto.sample(0)
    XCTAssertEqual(rto.backoff, 0)
    for _ in 0..<50 { rto.sample(1) }
    XCTAssertEqual(rto.current, 200_000)  // the floor
  }

  func testCongestionArithmetic() {
    XCTAssertEqual(TCPCongestionControl.initialWindow(mss: 1460), 4380)
    XCTAssertEqual(TCPCongestionControl.initialWindow(mss: 536), 2144)
    XCTAssertEqual(TCPCongestionControl.initialWindow(mss: 2500), 5000)
    var cc = TCPCongestionControl(mss: 1000, iss: TCPSequence(0), synLost: false)
    cc.ssthresh = 6000
    cc.acknowledged(3000)  // slow start: at most one MSS per ACK
    XCTAssertEqual(cc.cwnd, 5000)
    cc.acknowledged(500)
    XCTAssertEqual(cc.cwnd, 5500)
    cc.acknowledged(1000)
    cc.acknowledged(1000)  // above ssthresh: MSS*MSS/cwnd
    XCTAssertEqual(cc.cwnd, 6500 + 1_000_000 / 6500)
    cc.timedOut(flightSize: 10000, firstTimeout: true, sndMax: TCPSequence(50))
    XCTAssertEqual([cc.cwnd, cc.ssthresh], [1000, 5000])
    cc.timedOut(flightSize: 2000, firstTimeout: false, sndMax: TCPSequence(50))
    XCTAssertEqual(cc.ssthresh, 5000)  // held for later timeouts of the same segment
    XCTAssertFalse(cc.mayEnterRecovery(ack: TCPSequence(50)))
    XCTAssertTrue(cc.mayEnterRecovery(ack: TCPSequence(51)))
  }
}
