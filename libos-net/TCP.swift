// TCP for the network library OS (RFC 9293): the entry points the stack
// calls. Everything is driven from outside: a segment arrives (`input`),
// time passes (`tick`, at `nextDeadline`), the app calls in. TCP never reads
// a clock (times are the caller's microseconds) and sends only through the
// `IPOutput` it is handed.
//
// Principles and invariants:
// - Every segment from the network is untrusted. It is parsed and checked
//   (checksum with the pseudo-header, data offset, option lengths) before
//   any state is touched; malformed ones are counted and dropped.
// - Memory is bounded: a fixed table of `maxConnections` slots; each
//   connection's send and receive rings are allocated once, when it opens;
//   out-of-order data lives inside the receive ring.
// - Sequence numbers are compared only through TCPSequence (modulo 2^32).
// - `close` is an orderly close of our direction (a FIN after the queued
//   data); the app may go on reading until the peer's FIN. `abort` resets
//   and frees the slot at once.
// - A connection keeps its slot while it lives and, once CLOSED, until the
//   app has closed it too; even then its id keeps reporting the state, the
//   unread data, the end of stream or the error (reset, refused, timed
//   out) until the table needs the slot for a new connection. So an app
//   that half-closes and reads on always sees its data and the final 0,
//   and one that never reads again leaks nothing. A listener's children
//   that die before being accepted are freed at once.
//
// Files: TCPSegment (parse), TCPSegmentWriter (build), TCPSequence,
// TCPControlBlock + TCPInput + TCPOutput + TCPTimerEvents (the state
// machine), TCPSendQueue, TCPReceiveQueue + TCPRingBuffer, TCPRetransmission-
// Timeout, TCPCongestionControl, TCPTimers, TCPConnectionTable,
// TCPInitialSequence, TCPConfiguration, TCPStatistics, TCPTypes.

/// Copies of a TCP share their connections (the blocks are objects): keep one.
public struct TCP {
  private let shared: TCPShared
  private var table: TCPConnectionTable

  public init() { self.init(configuration: TCPConfiguration()) }

  public init(configuration: TCPConfiguration) {
    let c = TCP.normalized(configuration)
    shared = TCPShared(configuration: c)
    table = TCPConnectionTable(capacity: c.maxConnections, seed: c.seed)
  }

  /// The configuration in use (after clamping to workable values).
  public var configuration: TCPConfiguration { shared.configuration }
  public var statistics: TCPStatistics { shared.statistics }

  // MARK: Opening

  public mutating func listen(port: UInt16, backlog: Int) throws(TCPError) -> TCPConnectionID {
    guard port != 0 else { throw .badArgument }
    guard table.listener(port: port) == nil else { throw .addressInUse }
    guard let index = table.freeIndex() else { throw .tableFull }
    let shared = self.shared
    let block = table.install(at: index) { id in
      TCPControlBlock(
        shared: shared, id: id, state: .listen, localAddress: .any, localPort: port, remoteAddress: .any,
        remotePort: 0, iss: TCPSequence(0), buffers: false)
    }
    block.backlog = max(1, min(backlog, table.capacity))
    return block.id
  }

  /// `.wouldBlock` when no connection is waiting.
  public mutating func accept(_ listener: TCPConnectionID) throws(TCPError) -> TCPConnectionID {
    guard let block = table.block(listener) else { throw .noSuchConnection }
    guard block.state == .listen else { throw .notListening }
    while !block.acceptQueue.isEmpty {
      let id = block.acceptQueue.removeFirst()
      if let child = table.block(id) {
        child.listener = nil
        return id
      }
    }
    throw .wouldBlock
  }

  public mutating func connect(
    to address: IPv4Address, port: UInt16, now: UInt64, output: inout some IPOutput
  ) throws(TCPError) -> TCPConnectionID {
    let local = output.localAddress
    guard port != 0, TCP.isUnicast(address), TCP.isUnicast(local) else { throw .badArgument }
    guard let index = table.freeIndex() else { throw .tableFull }
    guard let localPort = table.ephemeralPort() else { throw .addressInUse }
    let iss = shared.isn.isn(
      localAddress: local, localPort: localPort, remoteAddress: address, remotePort: port, now: now)
    let shared = self.shared
    let block = table.install(at: index) { id in
      TCPControlBlock(
        shared: shared, id: id, state: .synSent, localAddress: local, localPort: localPort, remoteAddress: address,
        remotePort: port, iss: iss, buffers: true)
    }
    shared.statistics.activeOpens += 1
    block.activeOpen(now: now, output: &output)
    return block.id
  }

  // MARK: Data

  /// Bytes taken into the send buffer; `.wouldBlock` when it is full.
  public mutating func send(
    _ id: TCPConnectionID, _ bytes: UnsafeRawBufferPointer, now: UInt64, output: inout some IPOutput
  ) throws(TCPError) -> Int {
    guard let block = table.block(id) else { throw .noSuchConnection }
    if let error = block.error { throw error }
    if block.appClosed { throw .closed }
    switch block.state {
    case .synSent, .synReceived, .established, .closeWait: break
    default: throw .notConnected
    }
    if bytes.isEmpty { return 0 }
    let taken = block.sendQueue.append(bytes)
    guard taken > 0 else { throw .wouldBlock }
    block.flush(now: now, output: &output)
    return taken
  }

  /// Bytes received; 0 at end of stream; `.wouldBlock` when none are waiting.
  /// After a reset or timeout the queued data is gone and the error is thrown.
  public mutating func receive(
    _ id: TCPConnectionID, into buffer: UnsafeMutableRawBufferPointer, now: UInt64, output: inout some IPOutput
  ) throws(TCPError) -> Int {
    guard let block = table.block(id) else { throw .noSuchConnection }
    guard block.state != .listen else { throw .notConnected }
    guard buffer.count > 0 else { throw .badArgument }
    if block.receiveQueue.ring.count > 0 {
      let n = block.receiveQueue.ring.read(into: buffer)
      block.appRead(now: now, output: &output)
      block.releaseBuffersIfDone()
      return n
    }
    if let error = block.error { throw error }
    if block.finReceived { return 0 }
    if block.state == .closed { throw .notConnected }
    throw .wouldBlock
  }

  // MARK: Closing

  /// Orderly close (FIN after the queued data); the id stays valid until the app stops using it
  /// (see the lifetime rule at the top of this file).
  public mutating func close(_ id: TCPConnectionID, now: UInt64, output: inout some IPOutput) throws(TCPError) {
    guard let block = table.block(id) else { throw .noSuchConnection }
    let index = Int(id.index)
    if block.state == .listen {
      closeListener(block, now: now, output: &output)
      return
    }
    if block.appClosed { throw .closed }
    block.appClosed = true
    switch block.state {
    case .synSent where block.sendQueue.ring.count == 0:
      block.enterClosed(nil)  // nothing synchronized, nothing queued: delete the TCB (RFC 9293 §3.10.4)
    case .synSent, .synReceived:
      // Data was accepted before the handshake ended: it and the FIN follow
      // establishment (what RFC 9293 §3.10.4 does in SYN-RECEIVED).
      block.sendQueue.finQueued = true
    case .established:
      block.sendQueue.finQueued = true
      block.state = .finWait1
      block.flush(now: now, output: &output)
    case .closeWait:
      block.sendQueue.finQueued = true
      block.state = .lastAck
      block.flush(now: now, output: &output)
    default:
      break
    }
    settle(index)
  }

  /// Abortive close (RST).
  public mutating func abort(_ id: TCPConnectionID, now: UInt64, output: inout some IPOutput) {
    guard let block = table.block(id) else { return }
    if block.state == .listen {
      closeListener(block, now: now, output: &output)
      return
    }
    reset(block, output: &output)
    table.release(Int(id.index))
  }

  // MARK: Status

  public func readiness(_ id: TCPConnectionID) -> TCPReadiness {
    guard let block = table.block(id) else { return [.error] }
    if block.state == .listen { return block.acceptQueue.isEmpty ? [] : [.acceptable] }
    var r: TCPReadiness = []
    let ended = block.state == .closed || block.state == .timeWait
    if block.receiveQueue.ring.count > 0 || block.finReceived || block.error != nil || ended { r.insert(.readable) }
    if (block.state == .established || block.state == .closeWait) && !block.appClosed
      && block.sendQueue.ring.free > 0
    {
      r.insert(.writable)
    }
    if block.finReceived || ended || block.error != nil { r.insert(.hangup) }
    if block.error != nil { r.insert(.error) }
    return r
  }

  public func state(_ id: TCPConnectionID) -> TCPState? { table.block(id)?.state }

  /// The connection's variables, for diagnostics and tests.
  public func info(_ id: TCPConnectionID) -> TCPConnectionInfo? { table.block(id)?.info() }

  /// Turns Nagle's algorithm off (true) or on for one connection.
  public mutating func setNoDelay(
    _ id: TCPConnectionID, _ noDelay: Bool, now: UInt64, output: inout some IPOutput
  ) throws(TCPError) {
    guard let block = table.block(id) else { throw .noSuchConnection }
    block.noDelay = noDelay
    block.flush(now: now, output: &output)
  }

  /// Keep-alive for one connection (or, on a listener, for the connections
  /// it accepts from now on); nil turns it off.
  public mutating func setKeepAlive(_ id: TCPConnectionID, _ keepAlive: TCPKeepAlive?, now: UInt64) throws(TCPError) {
    guard let block = table.block(id) else { throw .noSuchConnection }
    if let k = keepAlive, k.idle == 0 || k.interval == 0 || k.probes < 1 { throw .badArgument }
    block.keepAlive = keepAlive
    block.keepAliveProbesSent = 0
    block.armKeepAlive(now: now)
  }

  // MARK: The network side

  /// One received segment (the IPv4 payload), addressed to `destination`.
  public mutating func input(
    source: IPv4Address, destination: IPv4Address, segment: UnsafeRawBufferPointer, now: UInt64,
    output: inout some IPOutput
  ) {
    shared.statistics.segmentsReceived += 1
    // RFC 1122 §4.2.3.10: TCP is unicast only; never answer a broadcast.
    guard TCP.isUnicast(source), TCP.isUnicast(destination) else {
      shared.statistics.notUnicast += 1
      return
    }
    let seg: TCPSegment
    do {
      seg = try TCPSegment.parse(segment, source: source, destination: destination)
    } catch {
      switch error {
      case .badChecksum: shared.statistics.badChecksums += 1
      case .badOptions: shared.statistics.malformedOptions += 1
      default: shared.statistics.malformedHeaders += 1
      }
      return
    }
    if let index = table.find(
      local: destination, localPort: seg.destinationPort, remote: source, remotePort: seg.sourcePort),
      let block = table.slots[index]
    {
      block.segmentArrives(seg, now: now, output: &output)
      settle(index)
      return
    }
    if let index = table.listener(port: seg.destinationPort), let listener = table.slots[index] {
      listenerArrives(listener, seg, source: source, destination: destination, now: now, output: &output)
      return
    }
    shared.statistics.noConnection += 1
    replyReset(seg, source: source, destination: destination, output: &output)
  }

  /// Runs the timers that are due (retransmission, delayed ACK, persist, keep-alive, TIME-WAIT).
  public mutating func tick(now: UInt64, output: inout some IPOutput) {
    for index in 0..<table.capacity {
      guard let block = table.slots[index], let due = block.timers.earliest, due <= now else { continue }
      block.timersExpire(now: now, output: &output)
      settle(index)
    }
  }

  /// The earliest time `tick` has work, if any.
  public var nextDeadline: UInt64? {
    var earliest: UInt64? = nil
    for block in table.slots {
      if let block { earliest = TCPTimers.earlier(earliest, block.timers.earliest) }
    }
    return earliest
  }

  // MARK: Private

  /// RFC 9293 §3.10.7.2: LISTEN.
  private mutating func listenerArrives(
    _ listener: TCPControlBlock, _ seg: TCPSegment, source: IPv4Address, destination: IPv4Address, now: UInt64,
    output: inout some IPOutput
  ) {
    if seg.rst { return }
    if seg.hasAck {
      TCPControlBlock.sendReset(
        shared: shared, from: destination, port: seg.destinationPort, to: source, port: seg.sourcePort,
        seq: seg.ack, ack: nil, output: &output)
      return
    }
    guard seg.syn else { return }
    guard table.pendingCount(of: listener.id) < listener.backlog else {
      shared.statistics.listenOverflows += 1  // dropped: the peer will try again
      return
    }
    guard let index = table.freeIndex() else {
      shared.statistics.tableFull += 1
      return
    }
    let iss = shared.isn.isn(
      localAddress: destination, localPort: seg.destinationPort, remoteAddress: source, remotePort: seg.sourcePort,
      now: now)
    let shared = self.shared
    let block = table.install(at: index) { id in
      TCPControlBlock(
        shared: shared, id: id, state: .synReceived, localAddress: destination, localPort: seg.destinationPort,
        remoteAddress: source, remotePort: seg.sourcePort, iss: iss, buffers: true)
    }
    block.listener = listener.id
    block.noDelay = listener.noDelay
    block.keepAlive = listener.keepAlive
    shared.statistics.passiveOpens += 1
    block.synArrivesAtListener(seg, now: now, output: &output)
  }

  /// RFC 9293 §3.10.7.1: a segment for no connection gets a reset.
  private func replyReset(
    _ seg: TCPSegment, source: IPv4Address, destination: IPv4Address, output: inout some IPOutput
  ) {
    if seg.rst { return }
    TCPControlBlock.sendReset(
      shared: shared, from: destination, port: seg.destinationPort, to: source, port: seg.sourcePort,
      seq: seg.hasAck ? seg.ack : TCPSequence(0), ack: seg.hasAck ? nil : seg.seq + seg.length, output: &output)
  }

  /// A reset from a synchronized connection we are giving up (RFC 9293 §3.10.5).
  private func reset(_ block: TCPControlBlock, output: inout some IPOutput) {
    switch block.state {
    case .synReceived, .established, .finWait1, .finWait2, .closeWait:
      block.sendReset(seq: block.sndNxt, output: &output)
    default:
      break
    }
  }

  private mutating func closeListener(_ listener: TCPControlBlock, now: UInt64, output: inout some IPOutput) {
    for index in 0..<table.capacity {
      if let child = table.slots[index], child.listener == listener.id {
        reset(child, output: &output)
        table.release(index)
      }
    }
    table.release(Int(listener.id.index))
  }

  /// After anything happened to the block at `index`: free a listener's
  /// child that died unseen, give back the buffers of an ended connection,
  /// or queue an established child on its listener.
  private mutating func settle(_ index: Int) {
    guard let block = table.slots[index] else { return }
    if block.state == .closed {
      if block.listener != nil && !block.queuedForAccept {
        table.release(index)
        return
      }
      block.releaseBuffersIfDone()
    }
    if let listenerID = block.listener, !block.queuedForAccept, block.wasEstablished,
      let listener = table.block(listenerID)
    {
      listener.acceptQueue.append(block.id)
      block.queuedForAccept = true
    }
  }

  private static func isUnicast(_ a: IPv4Address) -> Bool {
    a.value != 0 && a.value >> 28 != 0xe && a.value >> 28 != 0xf
  }

  private static func normalized(_ c: TCPConfiguration) -> TCPConfiguration {
    var c = c
    c.maxConnections = max(1, min(c.maxConnections, 4096))
    c.mss = max(64, min(c.mss, 65495))
    c.sendBufferSize = max(256, min(c.sendBufferSize, 1 << 30))
    c.receiveBufferSize = max(256, min(c.receiveBufferSize, 1 << 30))
    let hour: UInt64 = 3_600_000_000  // keeps every shifted or doubled time far from overflow
    c.minRTO = max(1, min(c.minRTO, hour))
    c.maxRTO = max(c.minRTO, min(c.maxRTO, hour))
    c.msl = min(c.msl, hour)
    c.delayedAckTimeout = min(c.delayedAckTimeout, 500_000)  // RFC 1122 §4.2.3.2: under 0.5 s
    c.maxRetransmissions = max(1, c.maxRetransmissions)
    c.maxSynRetransmissions = max(1, c.maxSynRetransmissions)
    c.maxOutOfOrderRanges = max(1, min(c.maxOutOfOrderRanges, 64))
    c.challengeAckLimit = max(1, c.challengeAckLimit)
    if let k = c.keepAlive, k.idle == 0 || k.interval == 0 || k.probes < 1 { c.keepAlive = nil }
    return c
  }
}
