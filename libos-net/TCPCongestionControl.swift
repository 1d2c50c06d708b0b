// Congestion control: slow start and congestion avoidance (RFC 5681 §3.1),
// fast retransmit on the third duplicate ACK and NewReno fast recovery with
// partial ACKs (RFC 6582 §3.2), the RFC 3390 initial window, and the loss
// window after a timeout. Byte counts; the caller sends what cwnd allows.

struct TCPCongestionControl {
  static let maxWindow: UInt32 = 1 << 30

  var mss: UInt32
  var cwnd: UInt32
  var ssthresh: UInt32 = maxWindow
  var inRecovery = false
  /// RFC 6582 `recover`: the highest sequence number sent (plus one) when
  /// recovery began; an ACK at or past it ends the recovery.
  var recover: TCPSequence
  var duplicateAcks = 0
  /// Whether this recovery has seen a partial ACK (only the first one
  /// restarts the retransmission timer, RFC 6582 §3.2 step 5).
  var partialAckSeen = false

  init(mss: UInt32, iss: TCPSequence, synLost: Bool) {
    self.mss = max(1, mss)
    cwnd = synLost ? self.mss : TCPCongestionControl.initialWindow(mss: self.mss)
    recover = iss
  }

  /// RFC 3390 / RFC 5681 §3.1: IW = min(4*MSS, max(2*MSS, 4380)).
  static func initialWindow(mss: UInt32) -> UInt32 { min(4 &* mss, max(2 &* mss, 4380)) }

  /// New data acknowledged outside recovery: slow start below ssthresh
  /// (RFC 5681 eq. 2, at most one MSS per ACK), congestion avoidance above
  /// (eq. 3, about one MSS per round trip).
  mutating func acknowledged(_ bytes: UInt32) {
    duplicateAcks = 0
    if cwnd < ssthresh {
      cwnd = min(cwnd &+ min(bytes, mss), TCPCongestionControl.maxWindow)
    } else {
      let step = max(1, UInt32((UInt64(mss) * UInt64(mss)) / UInt64(max(cwnd, 1))))
      cwnd = min(cwnd &+ step, TCPCongestionControl.maxWindow)
    }
  }

  /// RFC 5681 eq. 4.
  func halved(flightSize: UInt32) -> UInt32 { max(flightSize / 2, 2 &* mss) }

  /// A retransmission timeout (RFC 5681 §3.1): ssthresh falls only on the
  /// first timeout of a segment; cwnd drops to the loss window.
  mutating func timedOut(flightSize: UInt32, firstTimeout: Bool, sndMax: TCPSequence) {
    if firstTimeout { ssthresh = halved(flightSize: flightSize) }
    cwnd = mss
    inRecovery = false
    partialAckSeen = false
    duplicateAcks = 0
    recover = sndMax  // RFC 6582 §3.2 step 4
  }

  /// The third duplicate ACK, when it may start a recovery (RFC 6582 §3.2
  /// step 2: only when the ACK is past `recover`).
  func mayEnterRecovery(ack: TCPSequence) -> Bool { ack > recover }

  /// RFC 6582 §3.2 step 2 / RFC 5681 §3.2 steps 2-4: the caller retransmits
  /// the first unacknowledged segment.
  mutating func enterRecovery(flightSize: UInt32, sndMax: TCPSequence) {
    recover = sndMax
    ssthresh = halved(flightSize: flightSize)
    cwnd = min(ssthresh &+ 3 &* mss, TCPCongestionControl.maxWindow)
    inRecovery = true
    partialAckSeen = false
  }

  /// RFC 5681 §3.2 step 4: each further duplicate inflates the window.
  mutating func duplicateInRecovery() { cwnd = min(cwnd &+ mss, TCPCongestionControl.maxWindow) }

  /// RFC 6582 §3.2 step 5: deflate by what was acknowledged, add back one
  /// MSS when that was at least one MSS. The caller retransmits the next
  /// unacknowledged segment.
  mutating func partialAck(_ bytes: UInt32) {
    cwnd = cwnd > bytes ? cwnd - bytes : 0
    if bytes >= mss { cwnd &+= mss }
    cwnd = max(cwnd, mss)
  }

  /// RFC 6582 §3.2 step 3, option 1: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
  mutating func fullAck(flightSize: UInt32) {
    cwnd = min(ssthresh, max(flightSize, mss) &+ mss)
    inRecovery = false
    partialAckSeen = false
    duplicateAcks = 0
  }
}
