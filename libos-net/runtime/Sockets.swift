// Blocking sockets over the stack's non-blocking calls: each call tries,
// and while the answer is "would block" waits in `Net.wait` (other threads
// of the env run meanwhile). A deadline in µs (Net.now-based) bounds a wait.
import LibOSNet
import LibOSRuntime

public struct UDPEndpoint {
  public let socket: UDPSocket

  public init(port: UInt16) throws(NetError) {
    do { socket = try Net.stack!.udpBind(port: port) } catch { throw .udp(error) }
  }

  public func send(_ bytes: UnsafeRawBufferPointer, to address: IPv4Address, port: UInt16) throws(NetError) {
    do { try Net.stack!.udpSend(socket, to: address, port: port, bytes: bytes, now: Net.now) } catch {
      throw .udp(error)
    }
  }

  /// The next datagram, or nil once `deadline` passes.
  public func receive(into buffer: UnsafeMutableRawBufferPointer, deadline: UInt64? = nil)
    -> (source: IPv4Address, port: UInt16, count: Int)?
  {
    while true {
      Net.poll()
      if let datagram = Net.stack!.udpReceive(socket, into: buffer) { return datagram }
      if let deadline, Net.now >= deadline { return nil }
      Net.wait(until: deadline)
    }
  }

  public func close() { try? Net.stack!.udpClose(socket) }
}

public struct TCPListener {
  public let id: TCPConnectionID

  public init(port: UInt16, backlog: Int = 16) throws(NetError) {
    do { id = try Net.stack!.tcpListen(port: port, backlog: backlog) } catch { throw .tcp(error) }
  }

  /// The next established connection, or nil once `deadline` passes.
  public func accept(deadline: UInt64? = nil) throws(NetError) -> TCPStream? {
    while true {
      Net.poll()
      do { return TCPStream(id: try Net.stack!.tcpAccept(id)) } catch {
        guard error == .wouldBlock else { throw .tcp(error) }
      }
      if let deadline, Net.now >= deadline { return nil }
      Net.wait(until: deadline)
    }
  }
}

public struct TCPStream {
  public let id: TCPConnectionID

  public init(id: TCPConnectionID) { self.id = id }

  public static func connect(to address: IPv4Address, port: UInt16, deadline: UInt64? = nil) throws(NetError)
    -> TCPStream
  {
    let id: TCPConnectionID
    do { id = try Net.stack!.tcpConnect(to: address, port: port, now: Net.now) } catch { throw .tcp(error) }
    while true {
      Net.poll()
      let ready = Net.stack!.tcpReadiness(id)
      if ready.contains(.error) { throw .tcp(Net.stack!.tcpState(id) == nil ? .connectionRefused : .connectionReset) }
      if ready.contains(.writable) { return TCPStream(id: id) }
      if let deadline, Net.now >= deadline { throw .timedOut }
      Net.wait(until: deadline)
    }
  }

  /// Sends every byte (waiting for room in the send buffer).
  public func send(_ bytes: UnsafeRawBufferPointer) throws(NetError) {
    var offset = 0
    while offset < bytes.count {
      do {
        offset += try Net.stack!.tcpSend(id, UnsafeRawBufferPointer(rebasing: bytes[offset...]), now: Net.now)
        continue
      } catch {
        guard error == .wouldBlock else { throw .tcp(error) }
      }
      Net.wait()
    }
  }

  /// Some bytes (at least one), 0 at end of stream, nil once `deadline` passes.
  public func receive(into buffer: UnsafeMutableRawBufferPointer, deadline: UInt64? = nil) throws(NetError) -> Int? {
    while true {
      Net.poll()
      do { return try Net.stack!.tcpReceive(id, into: buffer, now: Net.now) } catch {
        guard error == .wouldBlock else { throw .tcp(error) }
      }
      if let deadline, Net.now >= deadline { return nil }
      Net.wait(until: deadline)
    }
  }

  public func close() { try? Net.stack!.tcpClose(id, now: Net.now) }
  public func abort() { Net.stack!.tcpAbort(id, now: Net.now) }
}
