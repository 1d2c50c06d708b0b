// Builds outgoing segments in one buffer allocated when TCP starts (header,
// MSS and window-scale options on SYNs, payload), fills in the checksum over
// the pseudo-header, and hands the result to the IP layer.

/// The header fields of one outgoing segment.
struct TCPOutgoing {
  var source: IPv4Address
  var destination: IPv4Address
  var sourcePort: UInt16
  var destinationPort: UInt16
  var seq: TCPSequence
  var ack: TCPSequence
  var flags: TCPFlags
  var window: UInt16
  var mss: UInt16? = nil
  var windowScale: UInt8? = nil
}

final class TCPSegmentWriter {
  static let maxHeader = 60
  private let buffer: UnsafeMutableRawBufferPointer
  let maxPayload: Int

  init(maxPayload: Int) {
    self.maxPayload = maxPayload
    buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: TCPSegmentWriter.maxHeader + maxPayload, alignment: 8)
    buffer.initializeMemory(as: UInt8.self, repeating: 0)
  }

  deinit { buffer.deallocate() }

  /// Sends one segment whose payload `fill` writes into the buffer it is
  /// given (exactly `payloadCount` bytes). False when IP refused it.
  func send(
    _ h: TCPOutgoing, payloadCount: Int, output: inout some IPOutput,
    fill: (UnsafeMutableRawBufferPointer) -> Void
  ) -> Bool {
    let payloadCount = max(0, min(payloadCount, maxPayload))
    var header = TCPSegment.headerLength
    if let mss = h.mss {
      put(2, at: header)
      put(4, at: header + 1)
      put16(mss, at: header + 2)
      header += 4
    }
    if let shift = h.windowScale {  // RFC 7323 §2.2, preceded by a NOP to align it
      put(1, at: header)
      put(3, at: header + 1)
      put(3, at: header + 2)
      put(shift, at: header + 3)
      header += 4
    }
    put16(h.sourcePort, at: 0)
    put16(h.destinationPort, at: 2)
    put32(h.seq.value, at: 4)
    put32(h.ack.value, at: 8)
    put(UInt8(header / 4) << 4, at: 12)
    put(h.flags.rawValue, at: 13)
    put16(h.window, at: 14)
    put16(0, at: 16)  // checksum, filled below
    put16(0, at: 18)  // urgent pointer: the urgent mechanism is not used
    let total = header + payloadCount
    if payloadCount > 0 {
      fill(UnsafeMutableRawBufferPointer(rebasing: buffer[header..<total]))
    }
    let segment = UnsafeRawBufferPointer(rebasing: buffer[0..<total])
    var sum = InternetChecksum()
    sum.addPseudoHeader(
      source: h.source, destination: h.destination, protocol: TCPSegment.protocolNumber, length: total)
    sum.add(segment)
    put16(sum.value, at: 16)
    return output.sendIP(protocol: TCPSegment.protocolNumber, destination: h.destination, payload: segment)
  }

  private func put(_ v: UInt8, at i: Int) { buffer[i] = v }
  private func put16(_ v: UInt16, at i: Int) {
    buffer[i] = UInt8(truncatingIfNeeded: v >> 8)
    buffer[i + 1] = UInt8(truncatingIfNeeded: v)
  }
  private func put32(_ v: UInt32, at i: Int) {
    put16(UInt16(truncatingIfNeeded: v >> 16), at: i)
    put16(UInt16(truncatingIfNeeded: v), at: i + 2)
  }
}
