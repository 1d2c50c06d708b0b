// TCP's building blocks on their own: sequence arithmetic across the wrap,
// the RFC 6528 ISN generator, the header and option parser against hostile
// input (and TCP's counters for each drop), segment trimming, the byte ring
// and the reassembly queue.
import XCTest

@testable import LibOSNet

final class TCPSegmentTests: XCTestCase {
  func testSequenceComparisonsHoldAcrossTheWrap() {
    let top = TCPSequence(0xffff_fff0)
    let wrapped = top + 0x20
    XCTAssertEqual(wrapped.value, 0x10)
    XCTAssertTrue(top < wrapped)
    XCTAssertTrue(wrapped > top)
    XCTAssertTrue(top <= top && top >= top)
    XCTAssertFalse(wrapped < top)
    XCTAssertEqual(wrapped - top, 0x20)
    XCTAssertEqual((wrapped - 0x21).value, 0xffff_ffef)
    XCTAssertTrue(TCPSequence(0xffff_ffff).isIn(from: top, before: wrapped))
    XCTAssertTrue(TCPSequence(0).isIn(from: top, before: wrapped))
    XCTAssertFalse(wrapped.isIn(from: top, before: wrapped))
    XCTAssertEqual(TCPSequence.later(top, wrapped), wrapped)
    // Half the space away is "before" in both directions' sense of RFC 1982.
    XCTAssertTrue(TCPSequence(0) < TCPSequence(0x7fff_ffff))
    XCTAssertTrue(TCPSequence(0x8000_0001) < TCPSequence(0))
    var random = SplitMix64(seed: 30)
    for _ in 0..<10_000 {
      let a = TCPSequence(UInt32(truncatingIfNeeded: random.next()))
      let d = UInt32(truncatingIfNeeded: random.next()) & 0x7fff_ffff
      if d > 0 {
        XCTAssertTrue(a < a + d)
        XCTAssertFalse(a + d < a)
      }
      XCTAssertEqual((a + d) - a, d)
    }
  }

  func testISNDependsOnTheTupleTheSecretAndTheClock() {
    let g = TCPInitialSequence(seed: 1)
    let a = IPv4Address(10, 0, 0, 1)
    let b = IPv4Address(10, 0, 0, 2)
    let base = g.isn(localAddress: a, localPort: 80, remoteAddress: b, remotePort: 5000, now: 0)
    XCTAssertEqual(g.isn(localAddress: a, localPort: 80, remoteAddress: b, remotePort: 5000, now: 0), base)
    XCTAssertEqual(g.isn(localAddress: a, localPort: 80, remoteAddress: b, remotePort: 5000, now: 4_000), base + 1000)
    XCTAssertNotEqual(g.isn(localAddress: a, localPort: 80, remoteAddress: b, remotePort: 5001, now: 0), base)
    XCTAssertNotEqual(g.isn(localAddress: b, localPort: 80, remoteAddress: a, remotePort: 5000, now: 0), base)
    let other = TCPInitialSequence(seed: 2)
    XCTAssertNotEqual(other.isn(localAddress: a, localPort: 80, remoteAddress: b, remotePort: 5000, now: 0), base)
  }

  private func parse(_ s: TCPWireSegment) -> Result<TCPSegment, TCPSegmentError> {
    parse(s.encoded(), s)
  }

  private func parse(_ bytes: [UInt8], _ s: TCPWireSegment) -> Result<TCPSegment, TCPSegmentError> {
    bytes.withUnsafeBytes { b in
      do throws(TCPSegmentError) {
        let seg = try TCPSegment.parse(b, source: s.source, destination: s.destination)
        return .success(seg)
      } catch {
        return .failure(error)
      }
    }
  }

  func testParserReadsHeaderAndOptions() {
    var s = TCPWireSegment()
    s.seq = 0x0102_0304
    s.ack = 0xa0b0_c0d0
    s.flags = TCPFlag.syn | TCPFlag.ack
    s.window = 4321
    s.mss = 1234
    s.windowScale = 9
    s.extraOptions = [4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 99, 3, 0, 1, 0]  // SACK-ok, timestamps, unknown, NOP, EOL
    s.payload = [1, 2, 3, 4, 5]
    let bytes = s.encoded()
    var checked = false
    bytes.withUnsafeBytes { b in
      do throws(TCPSegmentError) {
        let seg = try TCPSegment.parse(b, source: s.source, destination: s.destination)
        XCTAssertEqual(seg.sourcePort, 40000)
        XCTAssertEqual(seg.destinationPort, 80)
        XCTAssertEqual(seg.seq.value, 0x0102_0304)
        XCTAssertEqual(seg.ack.value, 0xa0b0_c0d0)
        XCTAssertEqual(seg.window, 4321)
        XCTAssertEqual(seg.options.mss, 1234)
        XCTAssertEqual(seg.options.windowScale, 9)
        XCTAssertEqual(Array(seg.payload), [1, 2, 3, 4, 5])
        XCTAssertTrue(seg.syn && seg.hasAck && !seg.fin && !seg.rst)
        XCTAssertEqual(seg.length, 6)
        checked = true
      } catch {
        XCTFail("rejected: \(error)")
      }
    }
    XCTAssertTrue(checked)
  }

  func testHostileHeadersAreRejectedAndCounted() {
    var good = TCPWireSegment()
    good.payload = [1, 2, 3]
    func expect(_ bytes: [UInt8], _ error: TCPSegmentError, line: UInt = #line) {
      switch parse(bytes, good) {
      case .success: XCTFail("accepted", line: line)
      case .failure(let e): XCTAssertEqual(e, error, line: line)
      }
    }
    let bytes = good.encoded()
    for n in 0..<20 { expect(Array(bytes[0..<n]), .badLength) }
    var bad = good
    bad.checksumValid = false
    expect(bad.encoded(), .badChecksum)
    expect(Array(bytes[0..<22]), .badChecksum)  // truncated: the checksum no longer matches
    // Data offset below 5, or past the segment (checksum fixed up so the offset is what fails).
    for offset: UInt8 in [0, 1, 4, 6, 15] {
      var b = bytes
      b[12] = offset << 4
      b[16] = 0
      b[17] = 0
      let c = TCPWireSegment.checksum(b, source: good.source, destination: good.destination)
      b[16] = UInt8(c >> 8)
      b[17] = UInt8(c & 0xff)
      expect(b, .badDataOffset)
    }
    var zeroPort = good
    zeroPort.sourcePort = 0
    expect(zeroPort.encoded(), .badPort)
    // Options: zero and one length, running past the header, a kind with no
    // length byte, known kinds with the wrong length.
    for options: [UInt8] in [
      [5, 0, 0, 0], [5, 1, 0, 0], [5, 9, 0, 0], [1, 1, 1, 2], [2, 3, 1, 1], [2, 5, 1, 1, 1, 1, 1, 1],
      [3, 2, 1, 1], [3, 4, 1, 1], [4, 3, 0, 0], [8, 8, 0, 0, 0, 0, 0, 0], [1, 1, 3, 3, 9, 1, 1, 255],
    ] {
      var s = good
      s.extraOptions = options
      if case .success = parse(s) { XCTFail("options \(options) accepted") }
    }

    // Through TCP: each is dropped, counted, never answered.
    var rig = TCPRig()
    _ = try? rig.tcp.listen(port: 80, backlog: 1)
    var syn = rig.segment(TCPFlag.syn, ack: 0)
    syn.checksumValid = false
    rig.deliver(syn)
    syn.checksumValid = true
    syn.extraOptions = [2, 0, 0, 0]
    rig.deliver(syn)
    rig.deliverRaw([1, 2, 3])
    rig.deliverRaw([])
    XCTAssertEqual(rig.take(), [])
    XCTAssertEqual(rig.tcp.statistics.badChecksums, 1)
    XCTAssertEqual(rig.tcp.statistics.malformedOptions, 1)
    XCTAssertEqual(rig.tcp.statistics.malformedHeaders, 2)
    XCTAssertEqual(rig.tcp.statistics.passiveOpens, 0)
  }

  func testTrimmingKeepsTheRightPartOfTheSequenceSpace() {
    var s = TCPWireSegment()
    s.seq = 0xffff_fffe
    s.flags = TCPFlag.syn | TCPFlag.fin | TCPFlag.ack
    s.payload = Array(0..<10)
    var checked = false
    s.encoded().withUnsafeBytes { b in
      guard var seg = try? TCPSegment.parse(b, source: s.source, destination: s.destination) else { return }
      XCTAssertEqual(seg.length, 12)
      seg.trimFront(3)  // the SYN and two bytes
      XCTAssertFalse(seg.syn)
      XCTAssertEqual(seg.seq.value, 1)
      XCTAssertEqual(Array(seg.payload), Array(2..<10))
      seg.trimBack(toLength: 5)  // past the window: bytes and the FIN go
      XCTAssertEqual(Array(seg.payload), Array(2..<7))
      XCTAssertFalse(seg.fin)
      seg.trimFront(100)
      XCTAssertEqual(seg.length, 0)
      XCTAssertEqual(seg.seq.value, 6)
      checked = true
    }
    XCTAssertTrue(checked)
  }

  func testRingWrapsAndKeepsBytesWrittenPastItsCount() {
    var ring = TCPRingBuffer(capacity: 8)
    let data: [UInt8] = [1, 2, 3, 4, 5, 6]
    XCTAssertEqual(data.withUnsafeBytes { ring.append($0) }, 6)
    var out = [UInt8](repeating: 0, count: 4)
    XCTAssertEqual(out.withUnsafeMutableBytes { ring.read(into: $0) }, 4)
    XCTAssertEqual(out, [1, 2, 3, 4])
    // Write past the count (as out-of-order data does), across the wrap.
    ([9, 10, 11] as [UInt8]).withUnsafeBytes { ring.write($0, at: 3) }
    XCTAssertEqual(([7] as [UInt8]).withUnsafeBytes { ring.append($0) }, 1)
    ring.commit(3)
    XCTAssertEqual(ring.count, 6)
    XCTAssertEqual(data.withUnsafeBytes { ring.append($0) }, 2)  // only what fits
    out = [UInt8](repeating: 0, count: 8)
    XCTAssertEqual(out.withUnsafeMutableBytes { ring.read(into: $0) }, 8)
    XCTAssertEqual(out, [5, 6, 7, 9, 10, 11, 1, 2])
    // Out-of-range writes and copies are refused, not trapped.
    ([1, 2, 3] as [UInt8]).withUnsafeBytes { ring.write($0, at: 7) }
    var one: [UInt8] = [42]
    one.withUnsafeMutableBytes { ring.copy(from: 0, into: $0) }  // nothing counted to copy
    XCTAssertEqual(one, [42])
    ring.discard(100)
    XCTAssertEqual(ring.count, 0)
  }

  /// Random pieces of a stream, in random order with duplicates and
  /// overlaps, come out as the stream (a property test of the reassembly).
  func testReassemblyOfRandomPiecesIsTheStream() {
    var random = SplitMix64(seed: 31)
    for round in 0..<200 {
      let size = 200 + random.below(2000)
      let data = random.bytes(size)
      var queue = TCPReceiveQueue(capacity: 4096, maxRanges: 4)
      var rcvNxt = TCPSequence(UInt32(truncatingIfNeeded: random.next()))
      let start = rcvNxt
      var delivered: [UInt8] = []
      var steps = 0
      while delivered.count < size {
        steps += 1
        XCTAssertLessThan(steps, 100_000, "round \(round) does not converge")
        if steps > 100_000 { return }
        let offset = Int(rcvNxt - start)
        // Mostly near the hole, sometimes at it.
        let from = random.chance(0.3) ? offset : min(size - 1, offset + random.below(600))
        let to = min(size, from + 1 + random.below(300))
        let seq = start + UInt32(from)
        // Trim what was already delivered, as TCP does before inserting.
        let lo = max(from, offset)
        guard lo < to else { continue }
        let advance = data[lo..<to].withUnsafeBytes { queue.insert($0, at: start + UInt32(lo), rcvNxt: rcvNxt) }
        _ = seq
        if let advance, advance > 0 {
          rcvNxt += advance
          var out = [UInt8](repeating: 0, count: Int(advance))
          XCTAssertEqual(out.withUnsafeMutableBytes { queue.ring.read(into: $0) }, Int(advance))
          delivered += out
        }
        XCTAssertLessThanOrEqual(queue.ranges.count, 4)
      }
      XCTAssertEqual(delivered, data, "round \(round)")
    }
  }
}
