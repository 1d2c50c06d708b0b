// The send buffer and the retransmission queue in one: the bytes the app
// handed over, from the oldest unacknowledged one (SND.UNA) on. A
// retransmission re-reads them from here, so nothing is copied twice and
// nothing is kept per segment. SYN and FIN take sequence space, not bytes.

struct TCPSendQueue {
  var ring: TCPRingBuffer
  /// The sequence number of the ring's first byte.
  var startSeq: TCPSequence
  /// The app has closed: a FIN follows the last byte, at `endSeq`.
  var finQueued = false

  init(capacity: Int, firstSeq: TCPSequence) {
    ring = TCPRingBuffer(capacity: capacity)
    startSeq = firstSeq
  }

  /// One past the last queued byte; the FIN's sequence number once queued.
  var endSeq: TCPSequence { startSeq + UInt32(ring.count) }

  /// Takes what fits of `bytes`; none once the FIN is queued.
  mutating func append(_ bytes: UnsafeRawBufferPointer) -> Int {
    finQueued ? 0 : ring.append(bytes)
  }

  /// Forgets the bytes below `ack`.
  mutating func acknowledge(upTo ack: TCPSequence) {
    guard ack > startSeq else { return }
    let n = min(Int(ack - startSeq), ring.count)
    ring.discard(n)
    startSeq += UInt32(n)
  }

  /// Copies the bytes at `seq` into `destination`; the range must be queued.
  func copy(at seq: TCPSequence, into destination: UnsafeMutableRawBufferPointer) {
    guard seq >= startSeq else { return }
    ring.copy(from: Int(seq - startSeq), into: destination)
  }

  /// Whether the FIN has been acknowledged, given SND.UNA.
  func finAcknowledged(by sndUna: TCPSequence) -> Bool { finQueued && sndUna > endSeq }
}
