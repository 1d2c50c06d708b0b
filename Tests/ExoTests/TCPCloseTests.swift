// TCP closing and resets: close from each side, simultaneous close,
// TIME-WAIT (its ACK of a repeated FIN and its expiry), a lost FIN, send
// after close, abort, RST inside and outside the window (RFC 5961 §3),
// SYN in the window and old or future ACKs (§4, §5) with the challenge-ACK
// throttle, and keep-alive probes and their timeout.
import XCTest

@testable import LibOSNet

final class TCPCloseTests: XCTestCase {
  func testActiveCloseGoesThroughTimeWaitAndFreesTheSlot() throws {
    var rig = TCPRig()
    let (_, id, iss) = try XCTUnwrap(rig.accept())
    _ = try rig.send(id, [UInt8](repeating: 7, count: 100))
    try rig.close(id)
    let out = rig.take()
    XCTAssertEqual(out.map(\.payload.count), [100, 0])
    XCTAssertEqual(out.last?.flags, TCPFlag.ack | TCPFlag.fin)
    XCTAssertEqual(out.last?.seq, iss &+ 101)
    XCTAssertEqual(rig.tcp.state(id), .finWait1)
    XCTAssertThrowsError(try rig.send(id, [1])) { XCTAssertEqual($0 as? TCPError, .closed) }
    XCTAssertThrowsError(try rig.close(id)) { XCTAssertEqual($0 as? TCPError, .closed) }
    XCTAssertFalse(rig.tcp.readiness(id).contains(.writable))

    rig.peerAcks(iss &+ 102)
    XCTAssertEqual(rig.tcp.state(id), .finWait2)
    rig.peerSends([1, 2], flags: TCPFlag.ack | TCPFlag.fin)  // half-closed: we still read
    let ack = try XCTUnwrap(rig.take().first)
    XCTAssertEqual(ack.ack, rig.peerSeq)
    XCTAssertEqual(rig.tcp.state(id), .timeWait)
    XCTAssertEqual(rig.tcp.nextDeadline, rig.now + 60_000_000)  // 2 * MSL
    XCTAssertEqual(try rig.receive(id), [1, 2])
    XCTAssertEqual(try rig.receive(id), [])

    // The peer did not hear our ACK and sends its FIN again: ACK it, restart 2 MSL.
    rig.advance(30_000_000)
    rig.deliver(rig.segment(TCPFlag.ack | TCPFlag.fin, seq: rig.peerSeq &- 1))
    XCTAssertEqual(rig.take().map(\.ack), [rig.peerSeq])
    XCTAssertEqual(rig.tcp.nextDeadline, rig.now + 60_000_000)
    rig.advance(59_999_999)
    XCTAssertEqual(rig.tcp.state(id), .timeWait)
    rig.advance(1)
    XCTAssertEqual(rig.tcp.state(id), .closed)  // ended; the id still answers
    XCTAssertEqual(try rig.receive(id), [])
    XCTAssertNil(rig.tcp.nextDeadline)
    // The 4-tuple is free: a segment for it now gets a reset.
    rig.peerAcks(iss &+ 102)
    XCTAssertEqual(rig.take().first?.flags, TCPFlag.rst)
  }

  func testEndedConnectionsKeepTheirIdUntilTheTableNeedsTheSlot() throws {
    var config = TCPConfiguration()
    config.maxConnections = 2
    var rig = TCPRig(config)
    let (listener, id, iss) = try XCTUnwrap(rig.accept())
    rig.peerSends([1, 2, 3], flags: TCPFlag.ack | TCPFlag.fin)
    try rig.close(id)
    rig.peerAcks(iss &+ 2)  // LAST-ACK done: CLOSED, with three bytes the app has not read
    XCTAssertEqual(rig.tcp.state(id), .closed)
    XCTAssertEqual(rig.tcp.readiness(id), [.readable, .hangup])
    XCTAssertEqual(try rig.receive(id, max: 2), [1, 2])
    XCTAssertEqual(try rig.receive(id), [3])
    XCTAssertEqual(try rig.receive(id), [])  // and the end of stream
    XCTAssertEqual(try rig.receive(id), [])
    // A new connection needs the slot: the ended one is reclaimed, its id dies.
    rig.peerPort = 40001
    rig.peerSeq = 77
    XCTAssertNotNil(rig.handshake(listener: listener, peerMSS: 1460, peerScale: nil))
    XCTAssertNil(rig.tcp.state(id))
    XCTAssertThrowsError(try rig.receive(id)) { XCTAssertEqual($0 as? TCPError, .noSuchConnection) }
    // A live connection is never reclaimed.
    XCTAssertThrowsError(try rig.tcp.connect(to: rig.peer, port: 9, now: rig.now, output: &rig.out)) {
      XCTAssertEqual($0 as? TCPError, .tableFull)
    }
  }

  func testMSLIsConfigurable() throws {
    var config = TCPConfiguration()
    config.msl = 1_000_000
    var rig = TCPRig(config)
    let (_, id, iss) = try XCTUnwrap(rig.accept())
    try rig.close(id)
    rig.peerAcks(iss &+ 2)
    rig.peerSends([], flags: TCPFlag.ack | TCPFlag.fin)
    XCTAssertEqual(rig.tcp.state(id), .timeWait)
    XCTAssertEqual(rig.tcp.nextDeadline, rig.now + 2_000_000)
  }

  func testPassiveCloseThroughCloseWaitAndLastAck() throws {
    var rig = TCPRig()
    let (_, id, iss) = try XCTUnwrap(rig.accept())
    rig.peerSends([], flags: TCPFlag.ack | TCPFlag.fin)
    XCTAssertEqual(rig.take().map(\.ack), [rig.peerSeq])
    XCTAssertEqual(rig.tcp.state(id), .closeWait)
    XCTAssertEqual(try rig.receive(id), [])
    XCTAssertEqual(try rig.send(id, [5, 6]), 2)  // our direction is still open
    try rig.close(id)
    let out = rig.take()
    XCTAssertEqual(out.map(\.flags), [TCPFlag.ack | TCPFlag.psh, TCPFlag.ack | TCPFlag.fin])
    XCTAssertEqual(rig.tcp.state(id), .lastAck)
    rig.peerAcks(iss &+ 3)  // the data only
    XCTAssertEqual(rig.tcp.state(id), .lastAck)
    rig.peerAcks(iss &+ 4)  // and the FIN
    XCTAssertEqual(rig.tcp.state(id), .closed)
    XCTAssertEqual(try rig.receive(id), [])
    XCTAssertNil(rig.tcp.nextDeadline)
  }

  func testSimultaneousCloseGoesThroughClosing() throws {
    var rig = TCPRig()
    let (_, id, iss) = try XCTUnwrap(rig.accept())
    try rig.close(id)
    XCTAssertEqual(rig.take().map(\.flags), [TCPFlag.ack | TCPFlag.fin])
    rig.peerSends([], flags: TCPFlag.ack | TCPFlag.fin)  // crosses ours, does not acknowledge it
    XCTAssertEqual(rig.tcp.state(id), .closing)
    XCTAssertEqual(rig.take().map(\.ack), [rig.peerSeq])
    rig.peerAcks(iss &+ 2)
    XCTAssertEqual(rig.tcp.state(id), .timeWait)
  }

  func testFinAndAckOfOurFinTogetherGoStraightToTimeWait() throws {
    var rig = TCPRig()
    let (_, id, iss) = try XCTUnwrap(rig.accept())
    try rig.close(id)
    _ = rig.take()
    rig.peerAck = iss &+ 2
    rig.peerSends([], flags: TCPFlag.ack | TCPFlag.fin)
    XCTAssertEqual(rig.tcp.state(id), .timeWait)
  }

  func testLostFinIsRetransmitted() throws {
    var rig = TCPRig()
    let (_, id, iss) = try XCTUnwrap(rig.accept())
    try rig.close(id)
    let fin = try XCTUnwrap(rig.take().first)
    rig.fireNext()
    let again = try XCTUnwrap(rig.take().first)
    XCTAssertEqual(again.flags, TCPFlag.ack | TCPFlag.fin)
    XCTAssertEqual(again.seq, fin.seq)
    rig.peerAcks(iss &+ 2)
    XCTAssertEqual(rig.tcp.state(id), .finWait2)
  }

  func testCloseBeforeTheHandshakeEnds() throws {
    var rig = TCPRig()
    let id = try rig.tcp.connect(to: rig.peer, port: 80, now: rig.now, output: &rig.out)
    try rig.close(id)  // SYN-SENT: simply forgotten
    XCTAssertEqual(rig.tcp.state(id), .closed)
    XCTAssertNil(rig.tcp.nextDeadline)
    XCTAssertEqual(rig.take().count, 1)  // only the SYN ever went out

    // With data queued, the data and the FIN follow the handshake instead.
    var second = TCPRig()
    let id2 = try second.tcp.connect(to: second.peer, port: 80, now: second.now, output: &second.out)
    let syn = try XCTUnwrap(second.take().first)
    XCTAssertEqual(try second.send(id2, [1, 2, 3]), 3)
    try second.close(id2)
    XCTAssertEqual(second.take(), [])
    second.peerPort = 80
    second.localPort = syn.sourcePort
    second.peerAck = syn.seq &+ 1
    second.deliver(second.segment(TCPFlag.syn | TCPFlag.ack))
    XCTAssertEqual(second.tcp.state(id2), .finWait1)
    let out = second.take()
    XCTAssertEqual(out.flatMap(\.payload), [1, 2, 3])
    XCTAssertEqual(out.last.map { $0.flags & TCPFlag.fin }, TCPFlag.fin)
  }

  func testAbortSendsAResetAndForgetsTheConnection() throws {
    var rig = TCPRig()
    let (_, id, iss) = try XCTUnwrap(rig.accept())
    _ = try rig.send(id, [1, 2, 3])
    _ = rig.take()
    rig.abort(id)
    let r = try XCTUnwrap(rig.take().first)
    XCTAssertEqual(r.flags, TCPFlag.rst)
    XCTAssertEqual(r.seq, iss &+ 4)
    XCTAssertNil(rig.tcp.state(id))
    XCTAssertNil(rig.tcp.nextDeadline)
    XCTAssertThrowsError(try rig.send(id, [1])) { XCTAssertEqual($0 as? TCPError, .noSuchConnection) }
  }

  func testResetOnlyAtExactlyRcvNxtResetsTheConnection() throws {
    var rig = TCPRig()
    let (_, id, iss) = try XCTUnwrap(rig.accept())
    rig.peerSends([1, 2, 3])
    _ = rig.take()
    // Out of the window: dropped in silence.
    for seq in [rig.peerSeq &+ 40000, rig.peerSeq &- 1, rig.peerSeq &+ 0x8000_0000] {
      rig.deliver(rig.segment(TCPFlag.rst, seq: seq))
    }
    XCTAssertEqual(rig.take(), [])
    // In the window but not RCV.NXT: a challenge ACK, nothing else.
    rig.deliver(rig.segment(TCPFlag.rst, seq: rig.peerSeq &+ 100))
    let challenge = try XCTUnwrap(rig.take().first)
    XCTAssertTrue(challenge.isPureAck)
    XCTAssertEqual(challenge.seq, iss &+ 1)
    XCTAssertEqual(challenge.ack, rig.peerSeq)
    XCTAssertEqual(rig.tcp.state(id), .established)
    XCTAssertEqual(rig.tcp.statistics.resetsChallenged, 1)
    // Exactly RCV.NXT: reset. Unread data is flushed and the error reported.
    rig.deliver(rig.segment(TCPFlag.rst))
    XCTAssertEqual(rig.take(), [])
    XCTAssertEqual(rig.tcp.state(id), .closed)
    XCTAssertEqual(rig.tcp.readiness(id), [.readable, .hangup, .error])
    XCTAssertThrowsError(try rig.receive(id)) { XCTAssertEqual($0 as? TCPError, .connectionReset) }
    XCTAssertThrowsError(try rig.send(id, [1])) { XCTAssertEqual($0 as? TCPError, .connectionReset) }
    XCTAssertEqual(rig.tcp.statistics.connectionsReset, 1)
    // The slot is kept for the app, which still sees the error after closing.
    try rig.close(id)
    XCTAssertEqual(rig.tcp.state(id), .closed)
    XCTAssertThrowsError(try rig.receive(id)) { XCTAssertEqual($0 as? TCPError, .connectionReset) }
  }

  func testSynInTheWindowGetsAThrottledChallengeAck() throws {
    var rig = TCPRig()
    let (_, id, _) = try XCTUnwrap(rig.accept())
    for k: UInt32 in 0..<15 {
      rig.deliver(rig.segment(TCPFlag.syn, seq: rig.peerSeq &+ 10 &+ k, ack: 0))
    }
    let acks = rig.take()
    XCTAssertEqual(acks.count, 10)  // the RFC 5961 §7 throttle
    XCTAssertTrue(acks.allSatisfy { $0.isPureAck && $0.ack == rig.peerSeq })
    XCTAssertEqual(rig.tcp.statistics.synsChallenged, 15)
    XCTAssertEqual(rig.tcp.statistics.challengeAcksSuppressed, 5)
    XCTAssertEqual(rig.tcp.state(id), .established)
    rig.now += 1_000_000
    rig.deliver(rig.segment(TCPFlag.syn, seq: rig.peerSeq, ack: 0))
    XCTAssertEqual(rig.take().count, 1)
  }

  func testAcksOfUnsentOrAncientDataAreAnsweredNotBelieved() throws {
    var rig = TCPRig()
    let (_, id, iss) = try XCTUnwrap(rig.accept())
    // Acknowledges bytes never sent: ACK and drop, data and all (RFC 9293 §3.10.7.4).
    rig.deliver(rig.segment(TCPFlag.ack, ack: iss &+ 5000, payload: [1, 2, 3]))
    XCTAssertEqual(rig.take().map(\.ack), [rig.peerSeq])
    XCTAssertEqual(rig.tcp.info(id)?.bytesReadable, 0)
    // Far older than any window we sent in: a challenge ACK (RFC 5961 §5.2).
    rig.deliver(rig.segment(TCPFlag.ack, ack: iss &- 100_000, payload: [1, 2, 3]))
    XCTAssertEqual(rig.take().count, 1)
    XCTAssertEqual(rig.tcp.info(id)?.bytesReadable, 0)
    XCTAssertEqual(rig.tcp.statistics.challengeAcks, 1)
    // Slightly old ACKs are fine.
    rig.deliver(rig.segment(TCPFlag.ack, ack: iss &- 10, payload: [4]))
    XCTAssertEqual(rig.tcp.info(id)?.bytesReadable, 1)
    // No ACK bit at all: dropped.
    rig.deliver(rig.segment(0, seq: rig.peerSeq &+ 1, payload: [5]))
    XCTAssertEqual(rig.tcp.info(id)?.bytesReadable, 1)
  }

  func testKeepAliveProbesAnIdlePeerAndTimesOutASilentOne() throws {
    var config = TCPConfiguration()
    config.keepAlive = TCPKeepAlive(idle: 10_000_000, interval: 1_000_000, probes: 3)
    var rig = TCPRig(config)
    let (_, id, iss) = try XCTUnwrap(rig.accept())
    XCTAssertEqual(rig.tcp.nextDeadline, rig.now + 10_000_000)
    rig.advance(10_000_000)
    let probe = try XCTUnwrap(rig.take().first)
    XCTAssertEqual(probe.seq, iss)  // SND.NXT - 1: outside the peer's window
    XCTAssertEqual(probe.ack, rig.peerSeq)
    XCTAssertTrue(probe.payload.isEmpty)
    rig.peerAcks(iss &+ 1)  // alive
    XCTAssertEqual(rig.tcp.nextDeadline, rig.now + 10_000_000)
    let silentFrom = rig.now
    rig.advance(12_500_000)
    XCTAssertEqual(rig.take().count, 3)  // at 10, 11 and 12 s
    XCTAssertEqual(rig.tcp.state(id), .established)
    rig.advance(500_000)
    XCTAssertEqual(rig.now - silentFrom, 13_000_000)
    XCTAssertEqual(rig.tcp.state(id), .closed)
    XCTAssertThrowsError(try rig.receive(id)) { XCTAssertEqual($0 as? TCPError, .timedOut) }
    XCTAssertEqual(rig.tcp.statistics.keepAliveProbes, 4)
  }

  func testKeepAliveIsOffByDefaultAndSetPerConnection() throws {
    var rig = TCPRig()
    let (listener, id, _) = try XCTUnwrap(rig.accept())
    XCTAssertNil(rig.tcp.nextDeadline)
    XCTAssertThrowsError(try rig.tcp.setKeepAlive(id, TCPKeepAlive(idle: 0), now: rig.now)) {
      XCTAssertEqual($0 as? TCPError, .badArgument)
    }
    try rig.tcp.setKeepAlive(id, TCPKeepAlive(idle: 5_000_000, interval: 1_000_000, probes: 1), now: rig.now)
    XCTAssertEqual(rig.tcp.nextDeadline, rig.now + 5_000_000)
    try rig.tcp.setKeepAlive(id, nil, now: rig.now)
    XCTAssertNil(rig.tcp.nextDeadline)
    // Set on a listener, it applies to the connections it accepts later.
    try rig.tcp.setKeepAlive(listener, TCPKeepAlive(idle: 7_000_000), now: rig.now)
    rig.peerPort = 40001
    rig.peerSeq = 1
    let (second, _) = try XCTUnwrap(rig.handshake(listener: listener, peerMSS: 1460, peerScale: nil))
    XCTAssertEqual(rig.tcp.info(second)?.keepAlive?.idle, 7_000_000)
    XCTAssertEqual(rig.tcp.nextDeadline, rig.now + 7_000_000)
  }
}
