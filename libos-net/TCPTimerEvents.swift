// What a connection does when one of its timers runs out: TIME-WAIT ends,
// a retransmission timeout (RFC 6298 §5.4-5.6, RFC 5681 §3.1 loss window,
// go-back-N from SND.UNA), a window probe (RFC 9293 §3.8.6.1), a delayed
// ACK, a keep-alive probe (RFC 1122 §4.2.3.6).

extension TCPControlBlock {
  func timersExpire(now: UInt64, output: inout some IPOutput) {
    if let t = timers.timeWait, now >= t {
      enterClosed(nil)
      return
    }
    if let t = timers.retransmit, now >= t {
      timers.retransmit = nil
      retransmissionTimeout(now: now, output: &output)
      if state == .closed { return }
    }
    if let t = timers.persist, now >= t {
      timers.persist = nil
      persistTimeout(now: now, output: &output)
      if state == .closed { return }
    }
    if let t = timers.delayedAck, now >= t {
      timers.delayedAck = nil
      shared.statistics.delayedAcks += 1
      ackNow = true
      flush(now: now, output: &output)
    }
    if let t = timers.keepAlive, now >= t {
      timers.keepAlive = nil
      keepAliveTimeout(now: now, output: &output)
    }
  }

  private func retransmissionTimeout(now: UInt64, output: inout some IPOutput) {
    consecutiveTimeouts += 1
    let c = shared.configuration
    let opening = state == .synSent || state == .synReceived
    if consecutiveTimeouts > (opening ? c.maxSynRetransmissions : c.maxRetransmissions) {
      shared.statistics.connectionsTimedOut += 1
      enterClosed(.timedOut)
      return
    }
    shared.statistics.retransmissionTimeouts += 1
    rto.backOff()
    rttTimed = nil  // Karn: a retransmitted segment gives no sample
    switch state {
    case .synSent, .synReceived:
      synRetransmitted = true
      shared.statistics.retransmittedSegments += 1
      sendSyn(ack: state == .synReceived, now: now, output: &output)
      timers.retransmit = TCPTimers.after(now, rto.current)
    case .established, .closeWait, .finWait1, .finWait2, .closing, .lastAck:
      congestion.timedOut(flightSize: sndMax - sndUna, firstTimeout: consecutiveTimeouts == 1, sndMax: sndMax)
      sndNxt = sndUna
      flush(now: now, output: &output)
    default:
      break
    }
  }

  /// A window probe, or the override of sender SWS avoidance when a small
  /// window has stalled the queue. A peer that answers probes keeps the
  /// connection open forever (RFC 1122 §4.2.2.17); one that never answers
  /// times out like a retransmission.
  private func persistTimeout(now: UInt64, output: inout some IPOutput) {
    if unansweredProbes >= shared.configuration.maxRetransmissions {
      shared.statistics.connectionsTimedOut += 1
      enterClosed(.timedOut)
      return
    }
    unansweredProbes += 1
    persistBackoff += 1
    shared.statistics.windowProbes += 1
    flush(now: now, output: &output, force: true)
  }

  private func keepAliveTimeout(now: UInt64, output: inout some IPOutput) {
    guard let keepAlive, state == .established || state == .closeWait || state == .finWait2 else { return }
    if sndMax != sndUna || sendQueue.endSeq != sndUna {
      // Data is out or waiting: retransmission or persist watch the peer.
      timers.keepAlive = TCPTimers.after(now, keepAlive.idle)
      return
    }
    if keepAliveProbesSent >= keepAlive.probes {
      shared.statistics.connectionsTimedOut += 1
      enterClosed(.timedOut)
      return
    }
    keepAliveProbesSent += 1
    shared.statistics.keepAliveProbes += 1
    // SEG.SEQ = SND.NXT - 1 lies before the peer's window, so it must answer with an ACK.
    transmit(seq: sndNxt - 1, length: 0, fin: false, now: now, output: &output)
    timers.keepAlive = TCPTimers.after(now, keepAlive.interval)
  }
}
