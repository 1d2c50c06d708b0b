// The sockets C ABI (declared in libos-net/include/exo_sockets.h): BSD
// calls by descriptor for code written in C, or any language that calls
// C. Each call is blocking, as the BSD call is, on libOS threads: while
// the stack says "would block" the calling thread waits in `Net.wait`
// (other threads of the env run). `exo_poll` is the non-blocking way in.
// Results follow the kernel's errno convention: >= 0, or a negative errno.
// Addresses are IPv4 in host order; ports in host order.
import LibOSNet
import LibOSRuntime

enum SocketsC {
  nonisolated(unsafe) static var table = SocketDescriptors()

  /// Retries `attempt` until it stops saying "would block".
  static func blocking(_ attempt: () -> Int) -> Int {
    guard Net.stack != nil else { return SocketErrno.networkDown }
    while true {
      Net.poll()
      let result = attempt()
      if result != SocketErrno.wouldBlock { return result }
      Net.wait()
    }
  }

  static func buffer(_ pointer: UnsafeRawPointer?, _ length: Int) -> UnsafeRawBufferPointer? {
    guard length >= 0, pointer != nil || length == 0 else { return nil }
    return UnsafeRawBufferPointer(start: pointer, count: length)
  }
}

@_cdecl("exo_socket")
public func exo_socket(_ type: Int32) -> Int32 {
  guard let kind = SocketType(rawValue: type) else { return Int32(SocketErrno.invalid) }
  return Int32(SocketsC.table.open(kind))
}

@_cdecl("exo_bind")
public func exo_bind(_ fd: Int32, _ port: UInt16) -> Int32 {
  guard Net.stack != nil else { return Int32(SocketErrno.networkDown) }
  return Int32(SocketsC.table.bind(Int(fd), port: port, in: &Net.stack!))
}

@_cdecl("exo_listen")
public func exo_listen(_ fd: Int32, _ backlog: Int32) -> Int32 {
  guard Net.stack != nil else { return Int32(SocketErrno.networkDown) }
  return Int32(SocketsC.table.listen(Int(fd), backlog: Int(backlog), in: &Net.stack!))
}

@_cdecl("exo_accept")
public func exo_accept(_ fd: Int32, _ address: UnsafeMutablePointer<UInt32>?, _ port: UnsafeMutablePointer<UInt16>?)
  -> Int32
{
  let new = SocketsC.blocking { SocketsC.table.accept(Int(fd), in: &Net.stack!) }
  if new >= 0, case .tcp(let id)? = SocketsC.table[new], let peer = Net.stack!.tcp.info(id) {
    address?.pointee = peer.remoteAddress.value
    port?.pointee = peer.remotePort
  }
  return Int32(new)
}

@_cdecl("exo_connect")
public func exo_connect(_ fd: Int32, _ address: UInt32, _ port: UInt16) -> Int32 {
  guard Net.stack != nil else { return Int32(SocketErrno.networkDown) }
  let started = SocketsC.table.connect(Int(fd), to: IPv4Address(address), port: port, in: &Net.stack!, now: Net.now)
  guard started == SocketErrno.inProgress else { return Int32(started) }
  return Int32(SocketsC.blocking { SocketsC.table.connected(Int(fd), in: &Net.stack!, now: Net.now) })
}

@_cdecl("exo_send")
public func exo_send(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ length: Int) -> Int {
  guard let data = SocketsC.buffer(bytes, length) else { return SocketErrno.invalid }
  return SocketsC.blocking { SocketsC.table.send(Int(fd), data, in: &Net.stack!, now: Net.now) }
}

@_cdecl("exo_recv")
public func exo_recv(_ fd: Int32, _ bytes: UnsafeMutableRawPointer?, _ length: Int) -> Int {
  guard let data = SocketsC.buffer(bytes, length) else { return SocketErrno.invalid }
  let room = UnsafeMutableRawBufferPointer(mutating: data)
  return SocketsC.blocking { SocketsC.table.receive(Int(fd), into: room, in: &Net.stack!, now: Net.now) }
}

@_cdecl("exo_sendto")
public func exo_sendto(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ length: Int, _ address: UInt32, _ port: UInt16) -> Int
{
  guard let data = SocketsC.buffer(bytes, length) else { return SocketErrno.invalid }
  guard Net.stack != nil else { return SocketErrno.networkDown }
  return SocketsC.table.sendTo(Int(fd), data, to: IPv4Address(address), port: port, in: &Net.stack!, now: Net.now)
}

@_cdecl("exo_recvfrom")
public func exo_recvfrom(
  _ fd: Int32, _ bytes: UnsafeMutableRawPointer?, _ length: Int, _ address: UnsafeMutablePointer<UInt32>?,
  _ port: UnsafeMutablePointer<UInt16>?
) -> Int {
  guard let data = SocketsC.buffer(bytes, length) else { return SocketErrno.invalid }
  let room = UnsafeMutableRawBufferPointer(mutating: data)
  var source = IPv4Address.any
  var sourcePort: UInt16 = 0
  let result = SocketsC.blocking {
    let got = SocketsC.table.receiveFrom(Int(fd), into: room, in: &Net.stack!)
    (source, sourcePort) = (got.source, got.port)
    return got.result
  }
  if result >= 0 {
    address?.pointee = source.value
    port?.pointee = sourcePort
  }
  return result
}

@_cdecl("exo_close")
public func exo_close(_ fd: Int32) -> Int32 {
  guard Net.stack != nil else { return Int32(SocketErrno.networkDown) }
  return Int32(SocketsC.table.close(Int(fd), in: &Net.stack!, now: Net.now))
}

/// Waits until a descriptor is ready or `timeout` µs pass (0: only look;
/// negative: no limit); returns how many are ready. `entries` is an array of
/// `struct exo_pollfd` (poll(2)'s `struct pollfd`, 8 bytes: fd, events,
/// revents), read by offset because a Swift struct cannot cross a C boundary.
@_cdecl("exo_poll")
public func exo_poll(_ entries: UnsafeMutableRawPointer?, _ count: Int32, _ timeout: Int64) -> Int32 {
  guard count >= 0, count <= 1024, entries != nil || count == 0 else { return Int32(SocketErrno.invalid) }
  guard Net.stack != nil else { return Int32(SocketErrno.networkDown) }
  let deadline: UInt64? = timeout < 0 ? nil : Net.now &+ UInt64(timeout)
  while true {
    Net.poll()
    var ready: Int32 = 0
    for i in 0..<Int(count) {
      let entry = entries! + 8 * i
      let fd = Int(entry.loadUnaligned(as: Int32.self))
      let events = entry.loadUnaligned(fromByteOffset: 4, as: Int16.self)
      var revents: Int16 = 0
      if let socket = SocketsC.table.socket(fd) {
        let r = Net.stack!.readiness(of: socket)
        if !r.intersection([.readable, .acceptable]).isEmpty { revents |= 1 }
        if r.contains(.writable) { revents |= 4 }
        revents &= events
        if r.contains(.error) { revents |= 8 }
        if r.contains(.hangup) { revents |= 16 }
      } else if SocketsC.table[fd] == nil {
        revents = 32  // POLLNVAL
      }
      entry.storeBytes(of: revents, toByteOffset: 6, as: Int16.self)
      if revents != 0 { ready += 1 }
    }
    if ready > 0 { return ready }
    if let deadline, Net.now >= deadline { return 0 }
    Net.wait(until: deadline)
  }
}
