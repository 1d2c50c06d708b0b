// TCP opening: the three-way handshake both ways and simultaneous open,
// options (MSS, window scaling) negotiated and not, SYN retries and their
// timeout, resets to closed ports and bad ACKs, refusal, the backlog and
// table limits, listener close.
import XCTest

@testable import LibOSNet

final class TCPHandshakeTests: XCTestCase {
  func testPassiveOpenAnswersSynWithOptionsAndAcceptsInOrder() throws {
    var rig = TCPRig()
    let listener = try rig.tcp.listen(port: 80, backlog: 4)
    XCTAssertEqual(rig.tcp.state(listener), .listen)
    rig.deliver(rig.segment(TCPFlag.syn, ack: 0, mss: 1000, windowScale: 2))
    let reply = rig.take()
    XCTAssertEqual(reply.count, 1)
    let synAck = try XCTUnwrap(reply.first)
    XCTAssertEqual(synAck.flags, TCPFlag.syn | TCPFlag.ack)
    XCTAssertEqual(synAck.ack, rig.peerSeq + 1)
    XCTAssertEqual(synAck.mss, 1460)
    XCTAssertEqual(synAck.windowScale, 0)  // 32 KiB fits without scaling
    XCTAssertEqual(synAck.window, 32768)
    XCTAssertTrue(synAck.checksumValid)
    XCTAssertEqual(synAck.sourcePort, 80)
    XCTAssertEqual(synAck.destinationPort, 40000)
    XCTAssertEqual(synAck.destination, rig.peer)
    XCTAssertEqual(rig.tcp.readiness(listener), [])
    XCTAssertThrowsError(try rig.tcp.accept(listener)) { XCTAssertEqual($0 as? TCPError, .wouldBlock) }

    rig.peerSeq += 1
    rig.peerAcks(synAck.seq &+ 1)
    XCTAssertEqual(rig.take(), [])
    XCTAssertEqual(rig.tcp.readiness(listener), [.acceptable])
    let id = try rig.tcp.accept(listener)
    XCTAssertEqual(rig.tcp.state(id), .established)
    let info = try XCTUnwrap(rig.tcp.info(id))
    XCTAssertEqual(info.sendMSS, 1000)
    XCTAssertEqual(info.sendWindowScale, 2)
    XCTAssertEqual(info.receiveWindowScale, 0)
    XCTAssertEqual(info.sendWindow, 65535 << 2)
    XCTAssertEqual(info.congestionWindow, 4000)  // min(4*MSS, max(2*MSS, 4380))
    XCTAssertEqual(rig.tcp.readiness(id), [.writable])
    XCTAssertThrowsError(try rig.tcp.accept(listener)) { XCTAssertEqual($0 as? TCPError, .wouldBlock) }

    // A second and third connection are handed out in the order they completed.
    rig.peerPort = 40001
    rig.deliver(rig.segment(TCPFlag.syn, seq: 500, ack: 0, mss: 1460))
    let second = try XCTUnwrap(rig.take().first)
    rig.peerPort = 40002
    rig.deliver(rig.segment(TCPFlag.syn, seq: 900, ack: 0, mss: 1460))
    let third = try XCTUnwrap(rig.take().first)
    rig.deliver(rig.segment(TCPFlag.ack, seq: 901, ack: third.seq &+ 1))
    rig.peerPort = 40001
    rig.deliver(rig.segment(TCPFlag.ack, seq: 501, ack: second.seq &+ 1))
    let a = try rig.tcp.accept(listener)
    let b = try rig.tcp.accept(listener)
    XCTAssertEqual(rig.tcp.info(a)?.remotePort, 40002)
    XCTAssertEqual(rig.tcp.info(b)?.remotePort, 40001)
  }

  func testActiveOpenSendsSynAndTakesAnRTTSampleFromTheHandshake() throws {
    var rig = TCPRig()
    let id = try rig.tcp.connect(to: rig.peer, port: 8080, now: rig.now, output: &rig.out)
    XCTAssertEqual(rig.tcp.state(id), .synSent)
    let syn = try XCTUnwrap(rig.take().first)
    XCTAssertEqual(syn.flags, TCPFlag.syn)
    XCTAssertEqual(syn.mss, 1460)
    XCTAssertEqual(syn.windowScale, 0)
    XCTAssertEqual(syn.window, 32768)
    XCTAssertEqual(syn.destinationPort, 8080)
    XCTAssertGreaterThanOrEqual(syn.sourcePort, 49152)
    XCTAssertEqual(rig.tcp.nextDeadline, rig.now + 1_000_000)  // RFC 6298 initial RTO
    XCTAssertEqual(rig.tcp.readiness(id), [])
    rig.peerPort = 8080
    rig.localPort = syn.sourcePort
    rig.now += 40_000
    rig.peerAck = syn.seq &+ 1
    rig.deliver(rig.segment(TCPFlag.syn | TCPFlag.ack, mss: 1200, windowScale: 3))
    rig.peerSeq += 1
    let ack = try XCTUnwrap(rig.take().first)
    XCTAssertTrue(ack.isPureAck)
    XCTAssertEqual(ack.seq, syn.seq &+ 1)
    XCTAssertEqual(ack.ack, rig.peerSeq)
    let info = try XCTUnwrap(rig.tcp.info(id))
    XCTAssertEqual(info.state, .established)
    XCTAssertEqual(info.smoothedRTT, 40_000)
    XCTAssertEqual(info.rttVariance, 20_000)
    XCTAssertEqual(info.retransmissionTimeout, 200_000)  // 40 + 4*20 ms, raised to the 200 ms floor
    XCTAssertEqual(info.sendMSS, 1200)
    XCTAssertEqual(info.sendWindowScale, 3)
    XCTAssertNil(rig.tcp.nextDeadline)  // nothing outstanding, no keep-alive
  }

  func testSimultaneousOpenReachesEstablished() throws {
    var rig = TCPRig()
    let id = try rig.tcp.connect(to: rig.peer, port: 7000, now: rig.now, output: &rig.out)
    let syn = try XCTUnwrap(rig.take().first)
    rig.peerPort = 7000
    rig.localPort = syn.sourcePort
    // The peer's own SYN crosses ours.
    rig.deliver(rig.segment(TCPFlag.syn, ack: 0, mss: 1460, windowScale: 1))
    XCTAssertEqual(rig.tcp.state(id), .synReceived)
    let synAck = try XCTUnwrap(rig.take().first)
    XCTAssertEqual(synAck.flags, TCPFlag.syn | TCPFlag.ack)
    XCTAssertEqual(synAck.seq, syn.seq)
    XCTAssertEqual(synAck.ack, rig.peerSeq + 1)
    XCTAssertEqual(synAck.windowScale, 0)  // both SYNs carried the option
    // The peer's SYN-ACK: its SYN again, with an ACK of ours.
    rig.deliver(rig.segment(TCPFlag.syn | TCPFlag.ack, ack: syn.seq &+ 1, mss: 1460, windowScale: 1))
    rig.peerSeq += 1
    XCTAssertEqual(rig.tcp.state(id), .established)
    let ack = try XCTUnwrap(rig.take().first)
    XCTAssertTrue(ack.isPureAck)
    XCTAssertEqual(ack.ack, rig.peerSeq)
    XCTAssertEqual(rig.tcp.info(id)?.sendWindowScale, 1)
    // Its plain ACK of our SYN-ACK changes nothing more.
    rig.peerAcks(syn.seq &+ 1)
    XCTAssertEqual(rig.tcp.state(id), .established)
    XCTAssertEqual(rig.take(), [])
  }

  func testSegmentsToClosedPortsGetTheTwoFormsOfReset() throws {
    var rig = TCPRig()
    rig.localPort = 81
    rig.deliver(rig.segment(TCPFlag.syn, seq: 1000, ack: 0))
    var r = try XCTUnwrap(rig.take().first)
    XCTAssertEqual(r.flags, TCPFlag.rst | TCPFlag.ack)
    XCTAssertEqual(r.seq, 0)
    XCTAssertEqual(r.ack, 1001)
    XCTAssertTrue(r.checksumValid)
    // SYN + FIN + 10 bytes occupy 12 sequence numbers.
    rig.deliver(
      rig.segment(TCPFlag.syn | TCPFlag.fin, seq: 0xffff_fffa, ack: 0, payload: [UInt8](repeating: 1, count: 10)))
    r = try XCTUnwrap(rig.take().first)
    XCTAssertEqual(r.ack, 0xffff_fffa &+ 12)
    // With an ACK: <SEQ=SEG.ACK><CTL=RST>.
    rig.deliver(rig.segment(TCPFlag.ack, seq: 5, ack: 0xdead_beef))
    r = try XCTUnwrap(rig.take().first)
    XCTAssertEqual(r.flags, TCPFlag.rst)
    XCTAssertEqual(r.seq, 0xdead_beef)
    // A reset is never answered.
    rig.deliver(rig.segment(TCPFlag.rst, seq: 5, ack: 0))
    rig.deliver(rig.segment(TCPFlag.rst | TCPFlag.ack, seq: 5, ack: 9))
    XCTAssertEqual(rig.take(), [])
    XCTAssertEqual(rig.tcp.statistics.noConnection, 5)
    XCTAssertEqual(rig.tcp.statistics.resetsSent, 3)
    // Nor is anything from a broadcast or multicast address.
    rig.deliverRaw(rig.segment(TCPFlag.syn, ack: 0).encoded(), source: IPv4Address(224, 0, 0, 1))
    rig.deliverRaw(rig.segment(TCPFlag.syn, ack: 0).encoded(), destination: .broadcast)
    XCTAssertEqual(rig.take(), [])
    XCTAssertEqual(rig.tcp.statistics.notUnicast, 2)
  }

  func testListenerResetsAnAckAndIgnoresAReset() throws {
    var rig = TCPRig()
    let listener = try rig.tcp.listen(port: 80, backlog: 1)
    rig.deliver(rig.segment(TCPFlag.ack, ack: 777))
    let r = try XCTUnwrap(rig.take().first)
    XCTAssertEqual(r.flags, TCPFlag.rst)
    XCTAssertEqual(r.seq, 777)
    rig.deliver(rig.segment(TCPFlag.rst))
    rig.deliver(rig.segment(TCPFlag.fin))  // neither SYN nor ACK: dropped
    XCTAssertEqual(rig.take(), [])
    XCTAssertEqual(rig.tcp.state(listener), .listen)
  }

  func testBacklogBoundsConnectionsNotYetAccepted() throws {
    var rig = TCPRig()
    let listener = try rig.tcp.listen(port: 80, backlog: 2)
    var synAcks: [TCPWireSegment] = []
    for port: UInt16 in 41000..<41003 {
      rig.peerPort = port
      rig.deliver(rig.segment(TCPFlag.syn, seq: UInt32(port), ack: 0))
      synAcks += rig.take()
    }
    XCTAssertEqual(synAcks.count, 2)
    XCTAssertEqual(rig.tcp.statistics.listenOverflows, 1)
    rig.peerPort = 41000
    rig.deliver(rig.segment(TCPFlag.ack, seq: 41001, ack: synAcks[0].seq &+ 1))
    _ = try rig.tcp.accept(listener)
    rig.peerPort = 41002  // retries its SYN and now fits
    rig.deliver(rig.segment(TCPFlag.syn, seq: 41002, ack: 0))
    XCTAssertEqual(rig.take().first?.flags, TCPFlag.syn | TCPFlag.ack)
  }

  func testTableFullDropsSynsAndRefusesOpens() throws {
    var config = TCPConfiguration()
    config.maxConnections = 2
    var rig = TCPRig(config)
    _ = try rig.tcp.listen(port: 80, backlog: 8)
    rig.deliver(rig.segment(TCPFlag.syn, ack: 0))
    XCTAssertEqual(rig.take().count, 1)
    rig.peerPort = 40001
    rig.deliver(rig.segment(TCPFlag.syn, ack: 0))
    XCTAssertEqual(rig.take(), [])
    XCTAssertEqual(rig.tcp.statistics.tableFull, 1)
    XCTAssertThrowsError(try rig.tcp.connect(to: rig.peer, port: 1, now: rig.now, output: &rig.out)) {
      XCTAssertEqual($0 as? TCPError, .tableFull)
    }
    XCTAssertThrowsError(try rig.tcp.listen(port: 81, backlog: 1)) { XCTAssertEqual($0 as? TCPError, .tableFull) }
  }

  func testBadArgumentsAndPortInUse() throws {
    var rig = TCPRig()
    _ = try rig.tcp.listen(port: 80, backlog: 1)
    XCTAssertThrowsError(try rig.tcp.listen(port: 80, backlog: 1)) { XCTAssertEqual($0 as? TCPError, .addressInUse) }
    XCTAssertThrowsError(try rig.tcp.listen(port: 0, backlog: 1)) { XCTAssertEqual($0 as? TCPError, .badArgument) }
    for (address, port) in [(rig.peer, UInt16(0)), (IPv4Address.broadcast, 80), (IPv4Address.any, 80)] {
      XCTAssertThrowsError(try rig.tcp.connect(to: address, port: port, now: rig.now, output: &rig.out)) {
        XCTAssertEqual($0 as? TCPError, .badArgument)
      }
    }
    var unconfigured = TCPRecorder(localAddress: .any)
    XCTAssertThrowsError(try rig.tcp.connect(to: rig.peer, port: 80, now: rig.now, output: &unconfigured)) {
      XCTAssertEqual($0 as? TCPError, .badArgument)
    }
    let stale = TCPConnectionID(index: 7, generation: 3)
    XCTAssertThrowsError(try rig.tcp.accept(stale)) { XCTAssertEqual($0 as? TCPError, .noSuchConnection) }
    XCTAssertThrowsError(try rig.send(stale, [1])) { XCTAssertEqual($0 as? TCPError, .noSuchConnection) }
    XCTAssertEqual(rig.tcp.readiness(stale), [.error])
    XCTAssertNil(rig.tcp.state(stale))
  }

  func testResetAnsweringTheSynRefusesTheConnection() throws {
    var rig = TCPRig()
    let id = try rig.tcp.connect(to: rig.peer, port: 9, now: rig.now, output: &rig.out)
    let syn = try XCTUnwrap(rig.take().first)
    rig.peerPort = 9
    rig.localPort = syn.sourcePort
    // A reset that does not acknowledge our SYN is not believed (RFC 5961 §3.2)...
    rig.deliver(rig.segment(TCPFlag.rst | TCPFlag.ack, seq: 0, ack: syn.seq &+ 2))
    XCTAssertEqual(rig.tcp.state(id), .synSent)
    // ...an ACK of something we never sent gets a reset of its own...
    rig.deliver(rig.segment(TCPFlag.ack, seq: 0, ack: syn.seq &- 5))
    XCTAssertEqual(
      rig.take().first.map { [$0.flags, UInt8(truncatingIfNeeded: $0.seq &- syn.seq)] }, [TCPFlag.rst, 0xfb])
    // ...and the real refusal closes it.
    rig.deliver(rig.segment(TCPFlag.rst | TCPFlag.ack, seq: 0, ack: syn.seq &+ 1))
    XCTAssertEqual(rig.tcp.state(id), .closed)
    XCTAssertEqual(rig.tcp.readiness(id), [.readable, .hangup, .error])
    XCTAssertThrowsError(try rig.send(id, [1])) { XCTAssertEqual($0 as? TCPError, .connectionRefused) }
    XCTAssertThrowsError(try rig.receive(id)) { XCTAssertEqual($0 as? TCPError, .connectionRefused) }
    XCTAssertNil(rig.tcp.nextDeadline)
    try rig.close(id)
    XCTAssertEqual(rig.tcp.state(id), .closed)
  }

  func testSynRetriesBackOffThenTimeOut() throws {
    var rig = TCPRig()
    let start = rig.now
    let id = try rig.tcp.connect(to: rig.peer, port: 80, now: rig.now, output: &rig.out)
    var times: [UInt64] = [rig.now - start]
    let iss = try XCTUnwrap(rig.take().first).seq
    while rig.tcp.state(id) == .synSent {
      rig.fireNext()
      for s in rig.take() {
        XCTAssertEqual(s.flags, TCPFlag.syn)
        XCTAssertEqual(s.seq, iss)
        times.append(rig.now - start)
      }
    }
    // 1 s initial RTO doubling each time, capped at 60 s; six retries, then give up.
    XCTAssertEqual(times, [0, 1, 3, 7, 15, 31, 63].map { $0 * 1_000_000 })
    XCTAssertEqual(rig.now - start, 123_000_000)
    XCTAssertEqual(rig.tcp.state(id), .closed)
    XCTAssertThrowsError(try rig.send(id, [1])) { XCTAssertEqual($0 as? TCPError, .timedOut) }
    XCTAssertEqual(rig.tcp.statistics.connectionsTimedOut, 1)
  }

  func testLostSynMeansOneSegmentInitialWindowAndThreeSecondRTO() throws {
    var rig = TCPRig()
    let id = try rig.tcp.connect(to: rig.peer, port: 80, now: rig.now, output: &rig.out)
    let syn = try XCTUnwrap(rig.take().first)
    rig.fireNext()  // the SYN was lost
    XCTAssertEqual(rig.take().first?.seq, syn.seq)
    rig.peerPort = 80
    rig.localPort = syn.sourcePort
    rig.peerAck = syn.seq &+ 1
    rig.deliver(rig.segment(TCPFlag.syn | TCPFlag.ack, mss: 1460))
    let info = try XCTUnwrap(rig.tcp.info(id))
    XCTAssertEqual(info.state, .established)
    XCTAssertNil(info.smoothedRTT)  // Karn: no sample from a retransmitted SYN
    XCTAssertEqual(info.retransmissionTimeout, 3_000_000)  // RFC 6298 §5.7
    XCTAssertEqual(info.congestionWindow, 1460)  // RFC 5681 §3.1: one segment
  }

  func testDuplicateSynGetsTheSynAckAgainAndABadAckGetsAReset() throws {
    var rig = TCPRig()
    _ = try rig.tcp.listen(port: 80, backlog: 1)
    let syn = rig.segment(TCPFlag.syn, ack: 0, mss: 1460)
    rig.deliver(syn)
    let first = try XCTUnwrap(rig.take().first)
    rig.deliver(syn)
    let again = try XCTUnwrap(rig.take().first)
    XCTAssertEqual(again.flags, TCPFlag.syn | TCPFlag.ack)
    XCTAssertEqual(again.seq, first.seq)
    XCTAssertEqual(again.ack, first.ack)
    rig.peerSeq += 1
    rig.peerAcks(first.seq &+ 5)  // acknowledges what we never sent
    let r = try XCTUnwrap(rig.take().first)
    XCTAssertEqual(r.flags, TCPFlag.rst)
    XCTAssertEqual(r.seq, first.seq &+ 5)
    rig.peerAcks(first.seq &+ 1)
    XCTAssertEqual(rig.tcp.statistics.connectionsEstablished, 1)
  }

  func testSynAckIsRetransmittedThenThePendingConnectionIsDropped() throws {
    var config = TCPConfiguration()
    config.maxSynRetransmissions = 2
    var rig = TCPRig(config)
    let listener = try rig.tcp.listen(port: 80, backlog: 1)
    rig.deliver(rig.segment(TCPFlag.syn, ack: 0))
    XCTAssertEqual(rig.take().count, 1)
    rig.fireNext()
    rig.fireNext()
    XCTAssertEqual(rig.take().map(\.flags), [TCPFlag.syn | TCPFlag.ack, TCPFlag.syn | TCPFlag.ack])
    rig.fireNext()  // gives up: back to LISTEN, the slot freed
    XCTAssertNil(rig.tcp.nextDeadline)
    XCTAssertEqual(rig.tcp.readiness(listener), [])
    rig.peerPort = 40001
    rig.deliver(rig.segment(TCPFlag.syn, ack: 0))  // the backlog has room again
    XCTAssertEqual(rig.take().count, 1)
  }

  func testWindowScalingNegotiatedOnlyWhenBothSynsCarryIt() throws {
    var config = TCPConfiguration()
    config.receiveBufferSize = 256 * 1024  // needs shift 3 to advertise
    // Both offer: our SYN-ACK offers 3; windows are scaled from then on.
    var rig = TCPRig(config)
    let listener = try rig.tcp.listen(port: 80, backlog: 2)
    rig.deliver(rig.segment(TCPFlag.syn, ack: 0, mss: 1460, windowScale: 7))
    let synAck = try XCTUnwrap(rig.take().first)
    XCTAssertEqual(synAck.windowScale, 3)
    XCTAssertEqual(synAck.window, 65535)  // a SYN's window is never scaled
    rig.peerSeq += 1
    rig.peerAcks(synAck.seq &+ 1, window: 100)
    let id = try rig.tcp.accept(listener)
    XCTAssertEqual(rig.tcp.info(id)?.sendWindow, 100 << 7)
    XCTAssertEqual(try rig.send(id, [1, 2, 3]), 3)
    let data = try XCTUnwrap(rig.take().first)
    XCTAssertEqual(data.payload, [1, 2, 3])
    XCTAssertEqual(data.window, UInt16(256 * 1024 >> 3))
    XCTAssertEqual(rig.tcp.info(id)?.receiveWindow, 256 * 1024)

    // The peer does not offer: no option in our SYN-ACK, nothing scaled.
    rig.peerPort = 40001
    rig.deliver(rig.segment(TCPFlag.syn, ack: 0, mss: 1460))
    let plain = try XCTUnwrap(rig.take().first)
    XCTAssertNil(plain.windowScale)
    rig.peerSeq += 1
    rig.peerAcks(plain.seq &+ 1, window: 100)
    let id2 = try rig.tcp.accept(listener)
    XCTAssertEqual(rig.tcp.info(id2)?.sendWindow, 100)
    XCTAssertEqual(rig.tcp.info(id2)?.receiveWindowScale, 0)
    XCTAssertEqual(try rig.send(id2, [9]), 1)
    XCTAssertEqual(rig.take().first?.window, 65535)

    // We do not offer (configured off): the peer's offer is ignored.
    config.windowScaling = false
    var off = TCPRig(config)
    let id3 = try XCTUnwrap(off.connect(peerScale: 5))
    XCTAssertEqual(off.tcp.info(id3.id)?.sendWindowScale, 0)
    off.peerAcks(id3.iss &+ 1, window: 100)
    XCTAssertEqual(off.tcp.info(id3.id)?.sendWindow, 100)
  }

  func testActiveOpenOffersScalingAndDropsItWhenThePeerDoesNot() throws {
    var config = TCPConfiguration()
    config.receiveBufferSize = 128 * 1024
    var rig = TCPRig(config)
    let id = try rig.tcp.connect(to: rig.peer, port: 80, now: rig.now, output: &rig.out)
    let syn = try XCTUnwrap(rig.take().first)
    XCTAssertEqual(syn.windowScale, 2)
    XCTAssertEqual(syn.window, 65535)
    rig.peerPort = 80
    rig.localPort = syn.sourcePort
    rig.peerAck = syn.seq &+ 1
    rig.deliver(rig.segment(TCPFlag.syn | TCPFlag.ack, window: 5000))
    let info = try XCTUnwrap(rig.tcp.info(id))
    XCTAssertEqual(info.sendWindowScale, 0)
    XCTAssertEqual(info.receiveWindowScale, 0)
    XCTAssertEqual(info.sendMSS, 536)  // no MSS option: RFC 9293 §3.7.1's default
    XCTAssertEqual(rig.take().first?.window, 65535)  // unscaled: the most a 16-bit field says
  }

  func testMSSIsHonoured() throws {
    for (peerMSS, expected, count) in [(UInt16?(500), 500, 4), (nil, 536, 4), (9000, 1460, 3)] {
      var rig = TCPRig()
      let (_, id, _) = try XCTUnwrap(rig.accept(peerMSS: peerMSS))
      XCTAssertEqual(try rig.send(id, tcpPattern(6000, seed: 1)), 6000)
      let segments = rig.take()
      // The initial window: min(4*MSS, max(2*MSS, 4380)) bytes in MSS-sized segments.
      XCTAssertEqual(segments.count, count, "peer MSS \(String(describing: peerMSS))")
      XCTAssertEqual(segments.map(\.payload.count), [Int](repeating: expected, count: count))
    }
  }

  /// The receive window must come out the same whatever the peer's ISN
  /// (a fuzz run found it huge for ISNs in the far half of the space).
  func testReceiveWindowIsRightForEveryPeerISN() throws {
    for peerISN: UInt32 in [0, 1, 0x7fff_ffff, 0x8000_0000, 0x9000_0000, 0xffff_fffe, 0xffff_ffff] {
      var passive = TCPRig()
      passive.peerSeq = peerISN
      let (_, id, _) = try XCTUnwrap(passive.accept())
      XCTAssertEqual(passive.tcp.info(id)?.receiveWindow, 32768, "passive, ISN \(peerISN)")
      passive.deliver(passive.segment(TCPFlag.ack, seq: passive.peerSeq &+ 40000, payload: [1]))
      XCTAssertEqual(passive.tcp.info(id)?.bytesReadable, 0)  // beyond the window: refused
      var active = TCPRig()
      active.peerSeq = peerISN
      let (id2, _) = try XCTUnwrap(active.connect())
      XCTAssertEqual(active.tcp.info(id2)?.receiveWindow, 32768, "active, ISN \(peerISN)")
    }
  }

  func testClosingAListenerResetsConnectionsNotYetAccepted() throws {
    var rig = TCPRig()
    let listener = try rig.tcp.listen(port: 80, backlog: 4)
    rig.deliver(rig.segment(TCPFlag.syn, ack: 0))
    let established = try XCTUnwrap(rig.take().first)
    rig.deliver(rig.segment(TCPFlag.ack, seq: rig.peerSeq + 1, ack: established.seq &+ 1))
    rig.peerPort = 40001
    rig.deliver(rig.segment(TCPFlag.syn, ack: 0))
    _ = rig.take()
    try rig.close(listener)
    let resets = rig.take()
    XCTAssertEqual(resets.count, 2)
    XCTAssertTrue(resets.allSatisfy { $0.rst })
    XCTAssertEqual(Set(resets.map(\.destinationPort)), [40000, 40001])
    XCTAssertNil(rig.tcp.state(listener))
    XCTAssertNil(rig.tcp.nextDeadline)
    _ = try rig.tcp.listen(port: 80, backlog: 1)
  }
}
