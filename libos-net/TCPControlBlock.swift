// The transmission control block (RFC 9293 §3.3.1): one connection's state,
// its sequence variables, its buffers, estimator, congestion state and
// timers. Segment arrival is in TCPInput.swift, sending in TCPOutput.swift,
// timer expiry in TCPTimerEvents.swift. A listener is a block in LISTEN
// with no buffers and a queue of established connections to hand out.

/// What every block of one TCP instance shares: the configuration, the one
/// segment buffer, the ISN generator and the counters.
final class TCPShared {
  let configuration: TCPConfiguration
  let writer: TCPSegmentWriter
  let isn: TCPInitialSequence
  /// The window scale we offer: the least shift that lets the whole receive
  /// buffer be advertised (RFC 7323 §2.3), at most 14.
  let windowScale: UInt8
  var statistics = TCPStatistics()

  init(configuration: TCPConfiguration) {
    self.configuration = configuration
    writer = TCPSegmentWriter(maxPayload: Int(configuration.mss))
    isn = TCPInitialSequence(seed: configuration.seed)
    var shift: UInt8 = 0
    while shift < 14 && (configuration.receiveBufferSize >> Int(shift)) > 0xffff { shift += 1 }
    windowScale = shift
  }
}

final class TCPControlBlock {
  static let defaultPeerMSS: UInt32 = 536  // RFC 9293 §3.7.1 when the SYN has no MSS option
  /// Below this a peer's MSS is taken as this: a tiny MSS would only make
  /// us send floods of tiny segments.
  static let minimumPeerMSS: UInt32 = 64

  let shared: TCPShared
  let id: TCPConnectionID
  var state: TCPState
  let localAddress: IPv4Address
  let localPort: UInt16
  let remoteAddress: IPv4Address
  let remotePort: UInt16

  // A listener's backlog and its established connections, in order.
  var backlog = 0
  var acceptQueue: [TCPConnectionID] = []
  // A passively opened connection names its listener until accepted.
  var listener: TCPConnectionID? = nil
  var queuedForAccept = false
  var openedPassively = false
  var wasEstablished = false

  // Send sequence variables (RFC 9293 §3.3.1). SND.MAX is the highest
  // sequence number sent plus one: SND.NXT moves back to SND.UNA on a
  // timeout (go-back-N), SND.MAX does not.
  let iss: TCPSequence
  var sndUna: TCPSequence
  var sndNxt: TCPSequence
  var sndMax: TCPSequence
  var sndWnd: UInt32 = 0
  var sndWl1 = TCPSequence(0)
  var sndWl2 = TCPSequence(0)
  var maxSndWnd: UInt32 = 0
  var sndMSS: UInt32 = TCPControlBlock.defaultPeerMSS
  var sndScale: UInt8 = 0
  var rcvScale: UInt8 = 0
  /// The window scale our SYN or SYN-ACK carried, if any.
  var offeredScale: UInt8? = nil

  // Receive sequence variables. RCV.WND is kept as its right edge, the
  // highest edge ever advertised (the window never shrinks).
  var irs = TCPSequence(0)
  var rcvNxt = TCPSequence(0)
  var rcvAdv = TCPSequence(0)
  let rcvMSS: UInt32

  var sendQueue: TCPSendQueue
  var receiveQueue: TCPReceiveQueue
  var finReceived = false
  /// The app called close (or the connection is a listener's child being torn down).
  var appClosed = false
  var error: TCPError? = nil

  var rto: TCPRetransmissionTimeout
  var congestion: TCPCongestionControl
  var timers = TCPTimers()
  var consecutiveTimeouts = 0
  var synRetransmitted = false
  /// The segment being timed for an RTT sample (one at a time, never a retransmitted one).
  var rttTimed: TCPSequence? = nil
  var rttStart: UInt64 = 0

  var ackNow = false
  var segmentsSinceAck = 0

  var noDelay: Bool
  var keepAlive: TCPKeepAlive?
  var keepAliveProbesSent = 0
  var persistBackoff: UInt32 = 0
  var unansweredProbes = 0
  var challengeWindowStart: UInt64 = 0
  var challengeCount = 0

  init(
    shared: TCPShared, id: TCPConnectionID, state: TCPState, localAddress: IPv4Address, localPort: UInt16,
    remoteAddress: IPv4Address, remotePort: UInt16, iss: TCPSequence, buffers: Bool
  ) {
    let c = shared.configuration
    self.shared = shared
    self.id = id
    self.state = state
    self.localAddress = localAddress
    self.localPort = localPort
    self.remoteAddress = remoteAddress
    self.remotePort = remotePort
    self.iss = iss
    sndUna = iss
    sndNxt = iss
    sndMax = iss
    rcvMSS = UInt32(c.mss)
    sendQueue = TCPSendQueue(capacity: buffers ? c.sendBufferSize : 0, firstSeq: iss + 1)
    receiveQueue = TCPReceiveQueue(capacity: buffers ? c.receiveBufferSize : 0, maxRanges: c.maxOutOfOrderRanges)
    rto = TCPRetransmissionTimeout(
      initial: c.initialRTO, minimum: c.minRTO, maximum: c.maxRTO, granularity: c.clockGranularity)
    congestion = TCPCongestionControl(mss: TCPControlBlock.defaultPeerMSS, iss: iss, synLost: false)
    noDelay = !c.nagle
    keepAlive = c.keepAlive
  }

  /// Ended and closed by the app: the slot may be reused when the table
  /// needs it. Until then the id still reports the state, any unread data,
  /// the end of stream or the error.
  var isReclaimable: Bool { state == .closed && appClosed && listener == nil }

  /// Gives the buffers back once nothing in them can be wanted again.
  func releaseBuffersIfDone() {
    guard isReclaimable, receiveQueue.ring.count == 0, receiveQueue.ring.capacity > 0 else { return }
    sendQueue.ring = TCPRingBuffer(capacity: 0)
    receiveQueue.ring = TCPRingBuffer(capacity: 0)
  }

  /// RCV.WND: what the peer may send beyond RCV.NXT, as we last told it.
  var receiveWindow: UInt32 { rcvAdv > rcvNxt ? rcvAdv - rcvNxt : 0 }

  var isSynchronized: Bool {
    switch state {
    case .closed, .listen, .synSent, .synReceived: return false
    default: return true
    }
  }

  /// Takes the MSS and window scale of the peer's SYN (RFC 9293 §3.7.1,
  /// RFC 7323 §2.2: scaling only when both SYNs carry the option).
  func adoptPeerOptions(_ options: TCPOptions) {
    let peer = options.mss.map { UInt32($0) } ?? TCPControlBlock.defaultPeerMSS
    sndMSS = min(max(peer, TCPControlBlock.minimumPeerMSS), UInt32(shared.configuration.mss))
    if let theirs = options.windowScale, let ours = offeredScale {
      sndScale = min(theirs, 14)  // RFC 7323 §2.3: treat a larger shift as 14
      rcvScale = ours
    } else {
      offeredScale = nil
      sndScale = 0
      rcvScale = 0
    }
  }

  func enterEstablished(now: UInt64) {
    state = appClosed ? .finWait1 : .established
    wasEstablished = true
    shared.statistics.connectionsEstablished += 1
    congestion = TCPCongestionControl(mss: sndMSS, iss: iss, synLost: synRetransmitted)
    if synRetransmitted { rto.restartAfterLostSyn() } else { rto.resetBackoff() }
    consecutiveTimeouts = 0
    timers.retransmit = nil
    armKeepAlive(now: now)
  }

  func enterTimeWait(now: UInt64) {
    state = .timeWait
    timers = TCPTimers()
    timers.timeWait = TCPTimers.after(now, 2 &* shared.configuration.msl)
    sendQueue.ring.removeAll()
  }

  /// CLOSED: with an error the queues are flushed (RFC 9293 §3.10.7.4 on a
  /// reset) and the app learns it on its next call.
  func enterClosed(_ error: TCPError?) {
    state = .closed
    if let error {
      self.error = error
      sendQueue.ring.removeAll()
      receiveQueue.removeAll()
    }
    timers = TCPTimers()
    ackNow = false
  }

  /// Any segment from the peer: it is alive, so keep-alive starts over.
  func noteActivity(now: UInt64) {
    keepAliveProbesSent = 0
    armKeepAlive(now: now)
  }

  func armKeepAlive(now: UInt64) {
    guard let keepAlive, state == .established || state == .closeWait || state == .finWait2 else {
      timers.keepAlive = nil
      return
    }
    timers.keepAlive = TCPTimers.after(now, keepAlive.idle)
  }

  func info() -> TCPConnectionInfo {
    TCPConnectionInfo(
      state: state, localAddress: localAddress, localPort: localPort, remoteAddress: remoteAddress,
      remotePort: remotePort, sendUnacknowledged: sndUna, sendNext: sndNxt, sendMax: sndMax, sendWindow: sndWnd,
      receiveNext: rcvNxt, receiveWindow: receiveWindow, sendMSS: sndMSS, sendWindowScale: sndScale,
      receiveWindowScale: rcvScale, congestionWindow: congestion.cwnd, slowStartThreshold: congestion.ssthresh,
      inFastRecovery: congestion.inRecovery, duplicateAcks: congestion.duplicateAcks,
      smoothedRTT: rto.hasSample ? rto.srtt : nil, rttVariance: rto.rttvar, retransmissionTimeout: rto.current,
      consecutiveTimeouts: consecutiveTimeouts, bytesQueued: sendQueue.ring.count,
      bytesReadable: receiveQueue.ring.count, noDelay: noDelay, keepAlive: keepAlive)
  }
}
