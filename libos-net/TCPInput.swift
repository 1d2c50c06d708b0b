// Segment arrival for a connection (RFC 9293 §3.10.7.3 SYN-SENT and
// §3.10.7.4 every later state), in the RFC's order: sequence check and
// trimming, RST (with RFC 5961 §3 checks), SYN (RFC 5961 §4 challenge),
// ACK (RFC 5961 §5 range; window update; congestion control), data, FIN.
// LISTEN and CLOSED are handled by the table owner (TCP.swift).

extension TCPControlBlock {
  /// A SYN for a listener made this block (state SYN-RECEIVED): take the
  /// peer's numbers and options and answer with SYN-ACK (RFC 9293 §3.10.7.2).
  func synArrivesAtListener(_ seg: TCPSegment, now: UInt64, output: inout some IPOutput) {
    openedPassively = true
    irs = seg.seq
    rcvNxt = seg.seq + 1
    rcvAdv = rcvNxt  // the SYN-ACK moves it; it must start from RCV.NXT, not from 0
    offeredScale = shared.configuration.windowScaling ? shared.windowScale : nil
    adoptPeerOptions(seg.options)
    sndWnd = UInt32(seg.window)  // never scaled in a SYN (RFC 7323 §2.2)
    maxSndWnd = sndWnd
    sndWl1 = seg.seq
    sndNxt = iss + 1
    sndMax = sndNxt
    rttTimed = iss
    rttStart = now
    sendSyn(ack: true, now: now, output: &output)
    timers.retransmit = TCPTimers.after(now, rto.current)
  }

  /// OPEN with an active flag: send the SYN (RFC 9293 §3.10.1).
  func activeOpen(now: UInt64, output: inout some IPOutput) {
    offeredScale = shared.configuration.windowScaling ? shared.windowScale : nil
    sndNxt = iss + 1
    sndMax = sndNxt
    rttTimed = iss
    rttStart = now
    sendSyn(ack: false, now: now, output: &output)
    timers.retransmit = TCPTimers.after(now, rto.current)
  }

  func segmentArrives(_ received: TCPSegment, now: UInt64, output: inout some IPOutput) {
    if state == .synSent {
      synSentArrives(received, now: now, output: &output)
      return
    }
    var seg = received
    noteActivity(now: now)
    if state == .synReceived && !openedPassively && seg.syn && seg.hasAck && seg.seq == irs && sndUna < seg.ack
      && seg.ack <= sndMax
    {
      // Simultaneous open (RFC 9293 §3.5 figure 7): the peer's SYN-ACK
      // repeats a SYN we have; take its ACK rather than call it old.
      seg.trimFront(1)
      ackNow = true
    }

    // First, the sequence number: the acceptability test of §3.10.7.4.
    let window = receiveWindow
    if !acceptable(seg, window: window) {
      if seg.rst { return }
      shared.statistics.unacceptableSegments += 1
      if window == 0 && seg.seq == rcvNxt && seg.hasAck {
        // A zero window still takes valid ACKs (§3.10.7.4): drop the data
        // only, and answer (this is how a window probe learns the window).
        seg.trimBack(toLength: seg.syn ? 1 : 0)
        ackNow = true
      } else {
        if state == .synReceived && openedPassively && seg.syn && !seg.hasAck && seg.seq == irs {
          sendSyn(ack: true, now: now, output: &output)  // the peer did not get our SYN-ACK
          return
        }
        if state == .timeWait && seg.fin {  // a retransmitted FIN restarts 2 MSL
          timers.timeWait = TCPTimers.after(now, 2 &* shared.configuration.msl)
        }
        ackNow = true
        flush(now: now, output: &output)
        return
      }
    }
    let arrivedSeq = seg.seq
    if seg.seq < rcvNxt { seg.trimFront(rcvNxt - seg.seq) }
    let rightEdge = rcvNxt + window
    if seg.seq + seg.length > rightEdge {
      seg.trimBack(toLength: seg.seq <= rightEdge ? rightEdge - seg.seq : 0)
    }

    // Second, RST: only at exactly RCV.NXT; elsewhere in the window it earns
    // a challenge ACK (RFC 5961 §3.2). Out of window it was dropped above.
    if seg.rst {
      if arrivedSeq != rcvNxt {
        shared.statistics.resetsChallenged += 1
        challengeAck(now: now, output: &output)
        return
      }
      shared.statistics.resetsReceived += 1
      resetArrives()
      return
    }

    // Fourth, SYN in the window (RFC 5961 §4.2), or a new SYN at a
    // passively opened SYN-RECEIVED, which goes back to LISTEN.
    if seg.syn {
      if state == .synReceived && openedPassively {
        enterClosed(nil)
        return
      }
      shared.statistics.synsChallenged += 1
      challengeAck(now: now, output: &output)
      return
    }

    // Fifth, ACK.
    guard seg.hasAck else { return }
    if state == .synReceived {
      guard sndUna < seg.ack && seg.ack <= sndMax else {
        sendReset(seq: seg.ack, output: &output)
        return
      }
      enterEstablished(now: now)
      sndWnd = UInt32(seg.window) << UInt32(sndScale)
      maxSndWnd = max(maxSndWnd, sndWnd)
      sndWl1 = arrivedSeq
      sndWl2 = seg.ack
    }
    guard acknowledgmentArrives(seg, arrivedSeq: arrivedSeq, now: now, output: &output) else { return }
    let finAcked = sendQueue.finAcknowledged(by: sndUna)
    switch state {
    case .finWait1 where finAcked:
      state = .finWait2
      armKeepAlive(now: now)
    case .closing where finAcked:
      enterTimeWait(now: now)
    case .lastAck where finAcked:
      enterClosed(nil)
      return
    default:
      break
    }

    // Sixth, URG: the urgent mechanism is not used (RFC 6093); its data is
    // delivered inline like any other.

    // Seventh, the text; eighth, the FIN.
    let textStates = state == .established || state == .finWait1 || state == .finWait2
    if textStates && !seg.payload.isEmpty { receiveText(&seg, now: now) }
    if textStates && seg.fin {
      let finSeq = seg.seq + UInt32(seg.payload.count)
      if finSeq == rcvNxt {
        finArrives(now: now)
      } else if finSeq > rcvNxt {
        receiveQueue.pendingFin = finSeq
        ackNow = true
      }
    }
    if let pending = receiveQueue.pendingFin, !finReceived {
      if pending == rcvNxt { finArrives(now: now) } else if pending < rcvNxt { receiveQueue.pendingFin = nil }
    }
    flush(now: now, output: &output)
  }

  /// RFC 9293 §3.10.7.4's four cases, with RCV.WND as last advertised.
  func acceptable(_ seg: TCPSegment, window: UInt32) -> Bool {
    let length = seg.length
    let edge = rcvNxt + window
    if length == 0 {
      return window == 0 ? seg.seq == rcvNxt : seg.seq.isIn(from: rcvNxt, before: edge)
    }
    if window == 0 { return false }
    return seg.seq.isIn(from: rcvNxt, before: edge) || (seg.seq + (length - 1)).isIn(from: rcvNxt, before: edge)
  }

  /// RFC 9293 §3.10.7.3.
  private func synSentArrives(_ received: TCPSegment, now: UInt64, output: inout some IPOutput) {
    var seg = received
    let ackAcceptable = seg.hasAck && seg.ack > iss && seg.ack <= sndMax
    if seg.hasAck && !ackAcceptable {
      if !seg.rst { sendReset(seq: seg.ack, output: &output) }
      return
    }
    if seg.rst {
      // RFC 5961 §3.2 in SYN-SENT: believe a reset only if it acknowledges our SYN.
      if ackAcceptable {
        shared.statistics.resetsReceived += 1
        enterClosed(.connectionRefused)
      }
      return
    }
    guard seg.syn else { return }
    irs = seg.seq
    rcvNxt = seg.seq + 1
    rcvAdv = rcvNxt + min(UInt32(receiveQueue.ring.free), 0xffff)  // what our SYN offered
    adoptPeerOptions(seg.options)
    sndWnd = UInt32(seg.window)
    maxSndWnd = sndWnd
    sndWl1 = seg.seq
    sndWl2 = seg.ack
    noteActivity(now: now)
    if ackAcceptable {
      if let timed = rttTimed, seg.ack > timed {
        rto.sample(now >= rttStart ? now - rttStart : 0)
        rttTimed = nil
      }
      sndUna = seg.ack
      enterEstablished(now: now)
      ackNow = true
      // Data or a FIN on the SYN-ACK: continue at the sixth step.
      seg.trimFront(1)
      let rightEdge = rcvNxt + receiveWindow
      if seg.seq + seg.length > rightEdge { seg.trimBack(toLength: rightEdge - seg.seq) }
      if !seg.payload.isEmpty { receiveText(&seg, now: now) }
      if seg.fin && seg.seq + UInt32(seg.payload.count) == rcvNxt { finArrives(now: now) }
      flush(now: now, output: &output)
    } else {
      // Simultaneous open (RFC 9293 §3.5 figure 7): SYN-RECEIVED, and our SYN
      // again with an ACK. The SYN's timer keeps running.
      state = .synReceived
      sendSyn(ack: true, now: now, output: &output)
    }
  }

  private func resetArrives() {
    switch state {
    case .synReceived:
      enterClosed(openedPassively ? nil : .connectionRefused)
    case .established, .finWait1, .finWait2, .closeWait:
      shared.statistics.connectionsReset += 1
      enterClosed(.connectionReset)
    default:
      enterClosed(nil)
    }
  }

  /// The fifth step for synchronized states. False when the segment is to
  /// be dropped.
  private func acknowledgmentArrives(
    _ seg: TCPSegment, arrivedSeq: TCPSequence, now: UInt64, output: inout some IPOutput
  ) -> Bool {
    let ack = seg.ack
    if ack > sndMax {  // acknowledges something not yet sent
      ackNow = true
      flush(now: now, output: &output)
      return false
    }
    if ack < sndUna - maxSndWnd {  // RFC 5961 §5.2: too old to be believed
      challengeAck(now: now, output: &output)
      return false
    }
    unansweredProbes = 0
    let window = UInt32(seg.window) << UInt32(sndScale)
    if ack > sndUna {
      newDataAcknowledged(ack, now: now, output: &output)
    } else if ack == sndUna && seg.payload.isEmpty && !seg.syn && !seg.fin && window == sndWnd && sndMax != sndUna
      && timers.persist == nil
    {
      duplicateAck(ack, now: now, output: &output)  // RFC 5681 §2's definition
    }
    // The window update (SND.WL1/SND.WL2 keep an old segment from undoing a newer one).
    if sndUna <= ack && (sndWl1 < arrivedSeq || (sndWl1 == arrivedSeq && sndWl2 <= ack)) {
      sndWnd = window
      sndWl1 = arrivedSeq
      sndWl2 = ack
      maxSndWnd = max(maxSndWnd, window)
    }
    return true
  }

  private func newDataAcknowledged(_ ack: TCPSequence, now: UInt64, output: inout some IPOutput) {
    var acked = ack - sndUna
    if sndUna == iss && acked > 0 { acked -= 1 }  // the SYN is not data
    if let timed = rttTimed, ack > timed {
      rto.sample(now >= rttStart ? now - rttStart : 0)
      rttTimed = nil
    }
    sndUna = ack
    if sndNxt < sndUna { sndNxt = sndUna }
    sendQueue.acknowledge(upTo: ack)
    consecutiveTimeouts = 0
    if congestion.inRecovery {
      if ack >= congestion.recover {
        congestion.fullAck(flightSize: sndMax - sndUna)
        timers.retransmit = nil
      } else {
        congestion.partialAck(acked)
        retransmitFirst(now: now, output: &output)
        if !congestion.partialAckSeen {
          congestion.partialAckSeen = true
          timers.retransmit = nil
        }
      }
    } else {
      congestion.acknowledged(acked)
      timers.retransmit = nil  // restarted by output if data is still out (RFC 6298 §5.3)
    }
  }

  /// RFC 5681 §3.2 with RFC 6582's `recover` check.
  private func duplicateAck(_ ack: TCPSequence, now: UInt64, output: inout some IPOutput) {
    congestion.duplicateAcks += 1
    if congestion.inRecovery {
      congestion.duplicateInRecovery()
    } else if congestion.duplicateAcks == 3 && congestion.mayEnterRecovery(ack: ack) {
      congestion.enterRecovery(flightSize: sndMax - sndUna, sndMax: sndMax)
      shared.statistics.fastRetransmits += 1
      rttTimed = nil
      retransmitFirst(now: now, output: &output)
      timers.retransmit = nil
    }
  }

  /// The seventh step: data within the window goes into the receive queue,
  /// in order or held for later; ACK at once for out-of-order data and for
  /// data that fills a hole (RFC 5681 §4.2), otherwise at every second
  /// segment or when the delayed-ACK timer runs out (RFC 1122 §4.2.3.2).
  func receiveText(_ seg: inout TCPSegment, now: UInt64) {
    // The scaled window may round up past the free space: keep what fits.
    let room = UInt32(receiveQueue.ring.free)
    let offset = seg.seq - rcvNxt
    if offset >= room {
      seg.trimBack(toLength: 0)
      ackNow = true
      return
    }
    if offset + UInt32(seg.payload.count) > room { seg.trimBack(toLength: room - offset) }
    let hadGap = receiveQueue.hasGap
    guard let advance = receiveQueue.insert(seg.payload, at: seg.seq, rcvNxt: rcvNxt) else {
      shared.statistics.outOfOrderDropped += 1
      seg.flags.remove(.fin)
      ackNow = true
      return
    }
    if offset > 0 {
      shared.statistics.outOfOrderSegments += 1
      ackNow = true
      return
    }
    rcvNxt += advance
    if hadGap {
      ackNow = true
    } else {
      segmentsSinceAck += 1
      let delay = shared.configuration.delayedAckTimeout
      if segmentsSinceAck >= 2 || delay == 0 {
        ackNow = true
      } else if timers.delayedAck == nil {
        timers.delayedAck = TCPTimers.after(now, delay)
      }
    }
  }

  /// The eighth step: the FIN is in sequence. ACK it at once.
  func finArrives(now: UInt64) {
    rcvNxt += 1
    finReceived = true
    receiveQueue.dropOutOfOrder()
    ackNow = true
    switch state {
    case .synReceived, .established:
      state = .closeWait
      armKeepAlive(now: now)
    case .finWait1:
      if sendQueue.finAcknowledged(by: sndUna) { enterTimeWait(now: now) } else { state = .closing }
    case .finWait2:
      enterTimeWait(now: now)
    default:
      break
    }
  }

  /// An ACK of where we are, at most `challengeAckLimit` a second (RFC 5961 §7).
  func challengeAck(now: UInt64, output: inout some IPOutput) {
    if now < challengeWindowStart || now - challengeWindowStart >= 1_000_000 {
      challengeWindowStart = now
      challengeCount = 0
    }
    guard challengeCount < shared.configuration.challengeAckLimit else {
      shared.statistics.challengeAcksSuppressed += 1
      return
    }
    challengeCount += 1
    shared.statistics.challengeAcks += 1
    sendAck(now: now, output: &output)
  }
}
