// The non-blocking sockets API the libOS's blocking calls are built on:
// UDP (bind, send, receive, close) over the stack's socket table, and TCP
// calls passed through to `tcp` with the link layer as its output. Each
// call that can send takes the caller's clock, since ARP and TCP timers
// start from it.

extension NetStack {
  // MARK: UDP

  /// Binds `port` (0 picks a free one from 49152...65535). Port 68 is taken while the DHCP client runs.
  public mutating func udpBind(port: UInt16) throws(UDPError) -> UDPSocket {
    try udp.bind(port: port, reserved: dhcp == nil ? nil : DHCPPort.client)
  }

  /// The port `socket` is bound to.
  public func udpPort(_ socket: UDPSocket) -> UInt16? { udp.port(of: socket) }

  /// Sends one datagram. UDP does not wait: `.noBufferSpace` means it was
  /// dropped (device ring or ARP wait queue full); a datagram queued for
  /// ARP counts as sent.
  public mutating func udpSend(
    _ socket: UDPSocket, to destination: IPv4Address, port: UInt16, bytes: UnsafeRawBufferPointer, now: UInt64
  ) throws(UDPError) {
    link.now = now
    guard let local = udp.port(of: socket) else { throw .noSuchSocket }
    guard port != 0, destination.value != 0 else { throw .badArgument }
    guard bytes.count <= UDPHeader.maxPayload else { throw .messageTooLong }
    guard link.address != nil || destination == .broadcast else { throw .noAddress }
    var head: UInt64 = 0
    let result = withUnsafeMutableBytes(of: &head) { h in
      UDPHeader.build(
        into: h, sourcePort: local, destinationPort: port, source: link.localAddress, destination: destination,
        body: bytes)
      return link.send(protocol: IPProtocol.udp, destination: destination, head: UnsafeRawBufferPointer(h), body: bytes)
    }
    switch result {
    case .sent, .queued: return
    case .noRoute: throw .noRoute
    case .tooBig: throw .messageTooLong
    case .queueFull, .deviceRefused: throw .noBufferSpace
    }
  }

  /// The oldest datagram waiting on `socket`, copied into `buffer` (cut to
  /// fit; the rest is lost, as with recv). Nil when none is waiting or the
  /// socket is not open (its readiness then says `.error`).
  public mutating func udpReceive(_ socket: UDPSocket, into buffer: UnsafeMutableRawBufferPointer) -> (
    source: IPv4Address, port: UInt16, count: Int
  )? {
    guard let slot = udp.slot(socket) else { return nil }
    return udp.dequeue(slot, into: buffer)
  }

  /// Frees the port and drops what was queued; the handle stops working.
  public mutating func udpClose(_ socket: UDPSocket) throws(UDPError) {
    guard udp.close(socket) else { throw .noSuchSocket }
  }

  // MARK: TCP

  public mutating func tcpListen(port: UInt16, backlog: Int) throws(TCPError) -> TCPConnectionID {
    try tcp.listen(port: port, backlog: backlog)
  }

  public mutating func tcpAccept(_ listener: TCPConnectionID) throws(TCPError) -> TCPConnectionID {
    try tcp.accept(listener)
  }

  public mutating func tcpConnect(to address: IPv4Address, port: UInt16, now: UInt64) throws(TCPError)
    -> TCPConnectionID
  {
    link.now = now
    return try tcp.connect(to: address, port: port, now: now, output: &link)
  }

  public mutating func tcpSend(_ id: TCPConnectionID, _ bytes: UnsafeRawBufferPointer, now: UInt64) throws(TCPError)
    -> Int
  {
    link.now = now
    return try tcp.send(id, bytes, now: now, output: &link)
  }

  public mutating func tcpReceive(_ id: TCPConnectionID, into buffer: UnsafeMutableRawBufferPointer, now: UInt64)
    throws(TCPError) -> Int
  {
    link.now = now
    return try tcp.receive(id, into: buffer, now: now, output: &link)
  }

  public mutating func tcpClose(_ id: TCPConnectionID, now: UInt64) throws(TCPError) {
    link.now = now
    try tcp.close(id, now: now, output: &link)
  }

  public mutating func tcpAbort(_ id: TCPConnectionID, now: UInt64) {
    link.now = now
    tcp.abort(id, now: now, output: &link)
  }

  public func tcpReadiness(_ id: TCPConnectionID) -> TCPReadiness { tcp.readiness(id) }

  public func tcpState(_ id: TCPConnectionID) -> TCPState? { tcp.state(id) }
}
