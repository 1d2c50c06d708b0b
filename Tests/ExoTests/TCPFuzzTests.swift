// Thousands of random and mutated segments against a listener and an
// established connection, mixed with app calls and time passing: TCP must
// not crash, must keep its buffers within bounds, must only ever send
// well-formed segments, and must never leave a timer due after a tick.
import XCTest

@testable import LibOSNet

final class TCPFuzzTests: XCTestCase {
  func testRandomAndMutatedSegmentsNeverBreakTCP() throws {
    try fuzz(seed: 50, rounds: 12)
  }

  func fuzz(seed: UInt64, rounds: Int) throws {
    var config = TCPConfiguration()
    config.receiveBufferSize = 8192
    config.sendBufferSize = 8192
    config.maxConnections = 8
    config.keepAlive = TCPKeepAlive(idle: 2_000_000, interval: 500_000, probes: 2)
    var random = SplitMix64(seed: seed)
    var sentSegments = 0
    var reopened = 0
    var plausibleInEstablished = 0
    for round in 0..<rounds {
      var rig = TCPRig(config)
      guard
        let (listener, first, firstISS) = rig.accept(
          peerMSS: 500 + UInt16(random.below(1000)), peerScale: random.chance(0.5) ? UInt8(random.below(16)) : nil)
      else { return }
      var id = first
      var iss = firstISS
      var valid: [[UInt8]] = []
      var ids = [id]
      for step in 0..<1500 {
        let choice = random.below(100)
        if let state = rig.tcp.state(id), state != .closed && state != .timeWait {
        } else if random.chance(0.1) {
          // The connection under attack ended: open another one to keep hitting a live state.
          rig.peerPort = UInt16(20000 + random.below(20000))
          rig.peerSeq = UInt32(truncatingIfNeeded: random.next())
          if let (n, i) = rig.handshake(listener: listener, peerMSS: 1000, peerScale: random.chance(0.5) ? 2 : nil) {
            id = n
            iss = i
            ids.append(n)
            reopened += 1
          }
        }
        if choice < 10 {
          rig.deliverRaw(random.bytes(random.below(80)))
        } else if choice < 40, let info = rig.tcp.info(id), info.state != .closed {
          // Plausible: near RCV.NXT, acknowledging inside [SND.UNA, SND.MAX].
          var flags = TCPFlag.ack
          if random.chance(0.3) { flags |= TCPFlag.psh }
          if random.chance(0.04) { flags |= TCPFlag.fin }
          if random.chance(0.02) { flags |= TCPFlag.rst }
          if random.chance(0.02) { flags |= TCPFlag.syn }
          let outstanding = Int(info.sendMax - info.sendUnacknowledged)
          var s = rig.segment(
            flags, seq: info.receiveNext.value &+ UInt32(bitPattern: Int32(random.below(12000) - 2000)),
            ack: (info.sendUnacknowledged + UInt32(random.below(outstanding + 1))).value,
            payload: random.bytes(random.below(1200)),
            window: random.chance(0.1) ? 0 : UInt16(truncatingIfNeeded: random.next()))
          s.sourcePort = info.remotePort
          s.destinationPort = info.localPort
          rig.deliver(s)
          if info.state == .established { plausibleInEstablished += 1 }
        } else if choice < 70 {
          var s = rig.segment(UInt8(truncatingIfNeeded: random.next()))
          s.sourcePort = random.chance(0.8) ? rig.peerPort : UInt16(1 + random.below(65535))
          s.destinationPort = random.chance(0.8) ? 80 : UInt16(1 + random.below(65535))
          s.seq =
            random.chance(0.7)
            ? rig.peerSeq &+ UInt32(truncatingIfNeeded: random.below(20000) - 10000)
            : UInt32(truncatingIfNeeded: random.next())
          s.ack =
            random.chance(0.7)
            ? iss &+ UInt32(truncatingIfNeeded: random.below(20000) - 5000) : UInt32(truncatingIfNeeded: random.next())
          s.window = UInt16(truncatingIfNeeded: random.next())
          if random.chance(0.2) { s.mss = UInt16(truncatingIfNeeded: random.next()) }
          if random.chance(0.2) { s.windowScale = UInt8(truncatingIfNeeded: random.next()) }
          if random.chance(0.3) { s.extraOptions = random.bytes(random.below(40)) }
          s.payload = random.bytes(random.chance(0.5) ? random.below(64) : random.below(1500))
          s.checksumValid = !random.chance(0.05)
          let bytes = s.encoded()
          if valid.count < 64 { valid.append(bytes) }
          rig.deliverRaw(bytes)
        } else if choice < 85, !valid.isEmpty {
          var b = valid[random.below(valid.count)]
          for _ in 0..<(1 + random.below(3)) { b[random.below(b.count)] = UInt8(truncatingIfNeeded: random.next()) }
          if random.chance(0.5) { b = Array(b[0..<random.below(b.count + 1)]) }
          if random.chance(0.5), b.count >= 18 {
            b[16] = 0
            b[17] = 0
            let c = TCPWireSegment.checksum(b, source: rig.peer, destination: rig.local)
            b[16] = UInt8(c >> 8)
            b[17] = UInt8(c & 0xff)
          }
          rig.deliverRaw(b)
        } else if choice < 92 {
          rig.advance(UInt64(random.below(3_000_000)))
        } else {
          let target = ids[random.below(ids.count)]
          switch random.below(7) {
          case 0: _ = try? rig.send(target, random.bytes(random.below(3000)))
          case 1: _ = try? rig.receive(target, max: 1 + random.below(5000))
          case 2: try? rig.close(target)
          case 3: if random.chance(0.2) { rig.abort(target) }
          case 4: if let n = try? rig.tcp.accept(listener) { ids.append(n) }
          case 5:
            if let n = try? rig.tcp.connect(
              to: rig.peer, port: UInt16(1 + random.below(65535)), now: rig.now, output: &rig.out)
            {
              ids.append(n)
            }
          default: try? rig.tcp.setNoDelay(target, random.chance(0.5), now: rig.now, output: &rig.out)
          }
        }
        // Invariants.
        for c in ids {
          _ = rig.tcp.readiness(c)
          if let info = rig.tcp.info(c) {
            XCTAssertLessThanOrEqual(info.bytesReadable, 8192)
            XCTAssertLessThanOrEqual(info.bytesQueued, 8192)
            XCTAssertLessThanOrEqual(info.receiveWindow, 8192 + 65535)
            XCTAssertGreaterThanOrEqual(info.sendMSS, 64)
            XCTAssertLessThanOrEqual(info.sendMSS, 1460)
          }
        }
        for s in rig.out.sent {
          XCTAssertTrue(s.checksumValid, "round \(round) step \(step): sent a bad segment")
          XCTAssertLessThanOrEqual(s.payload.count, 1460)
          XCTAssertFalse(s.syn && s.rst)
        }
        sentSegments += rig.out.sent.count
        _ = rig.take()
        rig.tcp.tick(now: rig.now, output: &rig.out)
        if let d = rig.tcp.nextDeadline { XCTAssertGreaterThan(d, rig.now, "a timer stays due after tick") }
      }
      let s = rig.tcp.statistics
      XCTAssertGreaterThan(s.badChecksums, 0)
      XCTAssertGreaterThan(s.malformedHeaders + s.malformedOptions, 0)
      XCTAssertLessThanOrEqual(s.segmentsReceived, 1500 + 10)
    }
    XCTAssertGreaterThan(sentSegments, rounds * 40)
    XCTAssertGreaterThan(reopened, 0)
    XCTAssertGreaterThan(plausibleInEstablished, rounds * 40)
  }

  /// Segments built to pass the checksum and header checks with every
  /// combination of flags, aimed at each state in turn.
  func testEveryFlagCombinationInEveryReachableState() throws {
    var random = SplitMix64(seed: 51)
    for flags in 0..<64 {
      for setup in 0..<6 {
        var rig = TCPRig()
        guard let (_, id, iss) = rig.accept() else { return }
        switch setup {
        case 1: try rig.close(id)  // FIN-WAIT-1
        case 2:
          try rig.close(id)
          rig.peerAcks(iss &+ 2)  // FIN-WAIT-2
        case 3: rig.peerSends([], flags: TCPFlag.ack | TCPFlag.fin)  // CLOSE-WAIT
        case 4:
          rig.peerSends([], flags: TCPFlag.ack | TCPFlag.fin)
          try rig.close(id)  // LAST-ACK
        case 5:
          try rig.close(id)
          rig.peerAck = iss &+ 2
          rig.peerSends([], flags: TCPFlag.ack | TCPFlag.fin)  // TIME-WAIT
        default: break
        }
        for _ in 0..<20 {
          let seq = rig.peerSeq &+ UInt32(truncatingIfNeeded: random.below(200) - 100)
          let ack = iss &+ UInt32(truncatingIfNeeded: random.below(10) - 5)
          rig.deliver(rig.segment(UInt8(flags), seq: seq, ack: ack, payload: random.bytes(random.below(100))))
          rig.advance(UInt64(random.below(100_000)))
        }
        XCTAssertTrue(rig.out.sent.allSatisfy(\.checksumValid))
      }
    }
  }
}
