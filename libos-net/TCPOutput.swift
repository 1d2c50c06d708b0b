// Sending for a connection: what may go now (the send window, cwnd, Nagle
// and sender-side silly-window avoidance of RFC 1122 §4.2.3.4, the FIN once
// the data is out), the window we advertise (receiver-side SWS avoidance,
// RFC 1122 §4.2.3.3, never shrinking, RFC 7323 §2.3 scaling), and which of
// the retransmission and persist timers runs afterwards.

extension TCPControlBlock {
  /// Sends what the windows and the rules allow, then an ACK if one is
  /// owed and nothing carried it. `force` is the persist timer's probe
  /// (one byte into a zero window) or its override of SWS avoidance.
  func flush(now: UInt64, output: inout some IPOutput, force: Bool = false) {
    switch state {
    case .established, .closeWait, .finWait1, .finWait2, .closing, .lastAck:
      break
    case .synReceived, .timeWait:
      if ackNow { sendAck(now: now, output: &output) }
      return
    default:
      return
    }
    var forcing = force
    let finState = state == .finWait1 || state == .closing || state == .lastAck
    while true {
      let dataEnd = sendQueue.endSeq
      if sndWnd == 0 && dataEnd > sndUna && !forcing {
        // Zero window (RFC 9293 §3.8.6.1): what is beyond SND.UNA waits for
        // the window to open; the persist timer probes meanwhile.
        if sndNxt > sndUna {
          sndNxt = sndUna
          rttTimed = nil
        }
        if ackNow { sendAck(now: now, output: &output) }
        break
      }
      let queued: UInt32 = dataEnd > sndNxt ? dataEnd - sndNxt : 0
      let window: UInt32 = forcing && sndWnd == 0 ? 1 : min(sndWnd, congestion.cwnd)
      let usable: UInt32 = sndUna + window > sndNxt ? (sndUna + window) - sndNxt : 0
      let length = min(queued, usable, sndMSS)
      let inFlight = sndNxt - sndUna
      let retransmitting = sndNxt < sndMax
      let fin = sendQueue.finQueued && finState && sndNxt + length == dataEnd
      var send = fin
      if length > 0 {
        if length == sndMSS || forcing || retransmitting {
          send = true
        } else if length == queued && (noDelay || inFlight == 0) {
          send = true  // all that is queued, and Nagle allows it
        } else if maxSndWnd > 0 && length >= maxSndWnd / 2 {
          send = true  // RFC 1122 §4.2.3.4 (c), Fs = 1/2
        }
      }
      if !send {
        if ackNow { sendAck(now: now, output: &output) }
        break
      }
      transmit(seq: sndNxt, length: Int(length), fin: fin, now: now, output: &output)
      if rttTimed == nil && !retransmitting && !(forcing && sndWnd == 0) {
        rttTimed = sndNxt
        rttStart = now
      }
      sndNxt += length + (fin ? 1 : 0)
      if sndNxt > sndMax { sndMax = sndNxt }
      forcing = false
      if length == 0 { break }
    }
    armTimers(now: now)
  }

  /// Exactly one of: retransmission timer while something is
  /// unacknowledged and the window is open (RFC 6298 §5.1), persist timer
  /// while data waits on a zero or too-small window, nothing when idle.
  func armTimers(now: UInt64) {
    switch state {
    case .established, .closeWait, .finWait1, .finWait2, .closing, .lastAck:
      break
    default:
      return
    }
    let dataEnd = sendQueue.endSeq
    if sndWnd == 0 && dataEnd > sndUna {
      timers.retransmit = nil
      if timers.persist == nil { timers.persist = TCPTimers.after(now, persistInterval) }
    } else if sndMax > sndUna {
      timers.persist = nil
      persistBackoff = 0
      if timers.retransmit == nil { timers.retransmit = TCPTimers.after(now, rto.current) }
    } else if dataEnd > sndNxt {
      timers.retransmit = nil
      if timers.persist == nil { timers.persist = TCPTimers.after(now, persistInterval) }
    } else {
      timers.retransmit = nil
      timers.persist = nil
      persistBackoff = 0
    }
  }

  /// RFC 1122 §4.2.2.17: the first probe after one RTO, then exponential backoff.
  var persistInterval: UInt64 {
    min(rto.current << UInt64(min(persistBackoff, 24)), shared.configuration.maxRTO)
  }

  /// One segment from the send queue at `seq` (data, FIN, or neither: an ACK).
  @discardableResult
  func transmit(seq: TCPSequence, length: Int, fin: Bool, now: UInt64, output: inout some IPOutput) -> Bool {
    var flags: TCPFlags = [.ack]
    if fin { flags.insert(.fin) }
    if length > 0 && seq + UInt32(length) == sendQueue.endSeq { flags.insert(.psh) }
    let header = TCPOutgoing(
      source: localAddress, destination: remoteAddress, sourcePort: localPort, destinationPort: remotePort,
      seq: seq, ack: rcvNxt, flags: flags, window: windowField(syn: false))
    let sent = shared.writer.send(header, payloadCount: length, output: &output) { destination in
      self.sendQueue.copy(at: seq, into: destination)
    }
    count(sent)
    if seq < sndMax && (length > 0 || fin) { shared.statistics.retransmittedSegments += 1 }
    ackNow = false
    segmentsSinceAck = 0
    timers.delayedAck = nil
    return sent
  }

  /// A segment with no data: at SND.MAX, not SND.NXT, which a timeout
  /// pulls back to SND.UNA; the peer may already hold everything up to
  /// SND.MAX and would find an ACK below it unacceptable and drop it (BSD
  /// does the same). While probing a zero window SND.NXT is right, since
  /// the peer may not have taken the probe byte.
  func sendAck(now: UInt64, output: inout some IPOutput) {
    let seq = timers.persist != nil || !isSynchronized ? sndNxt : sndMax
    transmit(seq: seq, length: 0, fin: false, now: now, output: &output)
  }

  /// Our SYN (active open) or SYN-ACK, with the MSS option and, when
  /// offered, the window scale; the window in a SYN is never scaled.
  func sendSyn(ack: Bool, now: UInt64, output: inout some IPOutput) {
    let field = min(UInt32(receiveQueue.ring.free), 0xffff)
    let header = TCPOutgoing(
      source: localAddress, destination: remoteAddress, sourcePort: localPort, destinationPort: remotePort,
      seq: iss, ack: ack ? rcvNxt : TCPSequence(0), flags: ack ? [.syn, .ack] : [.syn], window: UInt16(field),
      mss: shared.configuration.mss, windowScale: offeredScale)
    if ack && rcvNxt + field > rcvAdv { rcvAdv = rcvNxt + field }
    count(shared.writer.send(header, payloadCount: 0, output: &output) { _ in })
    ackNow = false
  }

  /// Retransmits the first unacknowledged segment without moving SND.NXT
  /// (fast retransmit and NewReno's partial ACKs).
  func retransmitFirst(now: UInt64, output: inout some IPOutput) {
    let dataEnd = sendQueue.endSeq
    let available: UInt32 = dataEnd > sndUna ? dataEnd - sndUna : 0
    let length = min(available, sndMSS)
    let fin = sendQueue.finQueued && sndMax > dataEnd && sndUna + length == dataEnd
    guard length > 0 || fin else { return }
    transmit(seq: sndUna, length: Int(length), fin: fin, now: now, output: &output)
  }

  /// <SEQ=seq><CTL=RST> to this connection's peer.
  func sendReset(seq: TCPSequence, output: inout some IPOutput) {
    TCPControlBlock.sendReset(
      shared: shared, from: localAddress, port: localPort, to: remoteAddress, port: remotePort, seq: seq, ack: nil,
      output: &output)
  }

  /// A reset with ACK when `ack` is given (RFC 9293 §3.10.7.1's two forms).
  static func sendReset(
    shared: TCPShared, from source: IPv4Address, port sourcePort: UInt16, to destination: IPv4Address,
    port destinationPort: UInt16, seq: TCPSequence, ack: TCPSequence?, output: inout some IPOutput
  ) {
    let header = TCPOutgoing(
      source: source, destination: destination, sourcePort: sourcePort, destinationPort: destinationPort, seq: seq,
      ack: ack ?? TCPSequence(0), flags: ack == nil ? [.rst] : [.rst, .ack], window: 0)
    let sent = shared.writer.send(header, payloadCount: 0, output: &output) { _ in }
    if sent { shared.statistics.segmentsSent += 1 } else { shared.statistics.outputFailures += 1 }
    shared.statistics.resetsSent += 1
  }

  private func count(_ sent: Bool) {
    if sent { shared.statistics.segmentsSent += 1 } else { shared.statistics.outputFailures += 1 }
  }

  /// The window field for an outgoing segment; moves RCV.WND's right edge.
  /// The edge moves only by at least min(half the buffer, one MSS) (RFC 1122
  /// §4.2.3.3) and never moves back, not even by the rounding of scaling.
  func windowField(syn: Bool) -> UInt16 {
    let free = UInt32(receiveQueue.ring.free)
    let current = receiveWindow
    let scale = syn ? 0 : UInt32(rcvScale)
    var window = free
    let threshold = min(UInt32(receiveQueue.ring.capacity) / 2, rcvMSS)
    if window < current || window - current < threshold { window = current }
    var field = min(window >> scale, 0xffff)
    if field << scale < current {
      let unit: UInt32 = 1 << scale
      field = min((current + unit - 1) >> scale, 0xffff)
    }
    let edge = rcvNxt + (field << scale)
    if edge > rcvAdv { rcvAdv = edge }
    return UInt16(field)
  }

  /// After the app read: tell the peer when the window has grown enough to
  /// matter (at once if it had been closed, since the peer is waiting).
  func appRead(now: UInt64, output: inout some IPOutput) {
    guard state == .established || state == .finWait1 || state == .finWait2 else { return }
    let free = UInt32(receiveQueue.ring.free)
    let current = receiveWindow
    guard free > current else { return }
    let capacity = UInt32(receiveQueue.ring.capacity)
    let threshold = current == 0 ? min(capacity / 2, rcvMSS) : min(capacity / 2, 2 &* rcvMSS)
    if free - current >= threshold {
      ackNow = true
      flush(now: now, output: &output)
    }
  }
}
