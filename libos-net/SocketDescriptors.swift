// BSD-style socket descriptors over the stack's sockets, for the C ABI
// (`libos-net/include/exo_sockets.h`): small integers naming a socket that
// may not be bound yet, with poll(2)-style results: a count or 0 on
// success, a negative errno on failure. Every call here is non-blocking
// (`-EAGAIN`, or `-EINPROGRESS` for a connect under way); the runtime's C
// functions wait and retry on libOS threads. A descriptor that names
// nothing, or the wrong kind of socket, is `-EBADF` or `-EINVAL`, never a
// trap.

public enum SocketErrno {
  public static let badDescriptor = -9  // EBADF
  public static let wouldBlock = -11  // EAGAIN
  public static let invalid = -22  // EINVAL
  public static let tooManyOpen = -24  // EMFILE
  public static let messageTooLong = -90  // EMSGSIZE
  public static let addressInUse = -98  // EADDRINUSE
  public static let networkDown = -100  // ENETDOWN
  public static let networkUnreachable = -101  // ENETUNREACH
  public static let connectionReset = -104  // ECONNRESET
  public static let noBufferSpace = -105  // ENOBUFS
  public static let alreadyConnected = -106  // EISCONN
  public static let notConnected = -107  // ENOTCONN
  public static let timedOut = -110  // ETIMEDOUT
  public static let connectionRefused = -111  // ECONNREFUSED
  public static let inProgress = -115  // EINPROGRESS

  static func of(_ error: UDPError) -> Int {
    switch error {
    case .addressInUse: return addressInUse
    case .tableFull: return tooManyOpen
    case .noSuchSocket: return badDescriptor
    case .badArgument: return invalid
    case .messageTooLong: return messageTooLong
    case .noAddress, .noRoute: return networkUnreachable
    case .noBufferSpace: return noBufferSpace
    }
  }

  static func of(_ error: TCPError) -> Int {
    switch error {
    case .addressInUse: return addressInUse
    case .tableFull: return tooManyOpen
    case .noSuchConnection: return badDescriptor
    case .notListening, .badArgument: return invalid
    case .notConnected, .closed: return notConnected
    case .connectionReset: return connectionReset
    case .connectionRefused: return connectionRefused
    case .timedOut: return timedOut
    case .wouldBlock: return wouldBlock
    }
  }
}

public enum SocketType: Int32, Sendable {
  case stream = 1  // TCP
  case datagram = 2  // UDP
}

/// What a descriptor names.
public enum SocketDescriptor: Equatable, Sendable {
  case udp(UDPSocket?)
  /// A TCP socket before `listen` or `connect`, with the port `bind` gave it (0: none).
  case tcpUnbound(port: UInt16)
  case tcp(TCPConnectionID)
}

public struct SocketDescriptors {
  private var slots: [SocketDescriptor?]

  public init(capacity: Int = 32) { slots = Array(repeating: nil, count: max(capacity, 1)) }

  public subscript(_ fd: Int) -> SocketDescriptor? { fd >= 0 && fd < slots.count ? slots[fd] : nil }

  /// The lowest free descriptor for a new socket of `type`.
  public mutating func open(_ type: SocketType) -> Int {
    guard let fd = slots.firstIndex(where: { $0 == nil }) else { return SocketErrno.tooManyOpen }
    slots[fd] = type == .stream ? .tcpUnbound(port: 0) : .udp(nil)
    return fd
  }

  private mutating func place(_ descriptor: SocketDescriptor) -> Int {
    guard let fd = slots.firstIndex(where: { $0 == nil }) else { return SocketErrno.tooManyOpen }
    slots[fd] = descriptor
    return fd
  }

  /// What a call on `fd` answers when `fd` is not the kind of socket it
  /// takes: `-EBADF` if it names nothing, else `otherwise`.
  private func refusal(_ fd: Int, _ otherwise: Int) -> Int { self[fd] == nil ? SocketErrno.badDescriptor : otherwise }

  /// The stack's handle of `fd`, for poll; nil when it has none yet.
  public func socket(_ fd: Int) -> NetSocket? {
    switch self[fd] {
    case .udp(let s?): return .udp(s)
    case .tcp(let id): return .tcp(id)
    default: return nil
    }
  }

  public mutating func bind<D>(_ fd: Int, port: UInt16, in stack: inout NetStack<D>) -> Int {
    switch self[fd] {
    case nil: return SocketErrno.badDescriptor
    case .udp(nil):
      do { slots[fd] = .udp(try stack.udpBind(port: port)) } catch { return SocketErrno.of(error) }
      return 0
    case .tcpUnbound(port: 0):
      guard port != 0 else { return SocketErrno.invalid }
      slots[fd] = .tcpUnbound(port: port)
      return 0
    default: return SocketErrno.invalid  // bound already
    }
  }

  public mutating func listen<D>(_ fd: Int, backlog: Int, in stack: inout NetStack<D>) -> Int {
    guard case .tcpUnbound(let port)? = self[fd] else { return refusal(fd, SocketErrno.invalid) }
    guard port != 0, backlog > 0 else { return SocketErrno.invalid }
    do { slots[fd] = .tcp(try stack.tcpListen(port: port, backlog: min(backlog, 64))) } catch {
      return SocketErrno.of(error)
    }
    return 0
  }

  /// A new descriptor for a connection waiting on listener `fd`.
  public mutating func accept<D>(_ fd: Int, in stack: inout NetStack<D>) -> Int {
    guard case .tcp(let listener)? = self[fd] else { return refusal(fd, SocketErrno.invalid) }
    guard slots.contains(where: { $0 == nil }) else { return SocketErrno.tooManyOpen }
    do { return place(.tcp(try stack.tcpAccept(listener))) } catch { return SocketErrno.of(error) }
  }

  /// Starts a TCP connection (`-EINPROGRESS`: poll for writable or error).
  /// UDP sockets have no default destination here: they send with `sendTo`.
  public mutating func connect<D>(_ fd: Int, to address: IPv4Address, port: UInt16, in stack: inout NetStack<D>, now: UInt64)
    -> Int
  {
    switch self[fd] {
    case nil: return SocketErrno.badDescriptor
    case .tcpUnbound(port: 0):
      guard port != 0, address.value != 0 else { return SocketErrno.invalid }
      do { slots[fd] = .tcp(try stack.tcpConnect(to: address, port: port, now: now)) } catch {
        return SocketErrno.of(error)
      }
      return SocketErrno.inProgress
    case .tcp: return SocketErrno.alreadyConnected
    default: return SocketErrno.invalid
    }
  }

  /// How a connect under way on `fd` stands: 0 once established, the
  /// connection's error if it failed, `-EAGAIN` while the handshake runs.
  public mutating func connected<D>(_ fd: Int, in stack: inout NetStack<D>, now: UInt64) -> Int {
    guard case .tcp(let id)? = self[fd] else { return refusal(fd, SocketErrno.invalid) }
    let ready = stack.tcpReadiness(id)
    if ready.contains(.error) {
      // The failed connection keeps its error until closed: a receive reports it.
      var byte: UInt8 = 0
      do { _ = try withUnsafeMutableBytes(of: &byte) { (b) throws(TCPError) in try stack.tcpReceive(id, into: b, now: now) } } catch {
        return SocketErrno.of(error)
      }
      return SocketErrno.connectionRefused
    }
    return ready.contains(.writable) ? 0 : SocketErrno.wouldBlock
  }

  public mutating func send<D>(_ fd: Int, _ bytes: UnsafeRawBufferPointer, in stack: inout NetStack<D>, now: UInt64) -> Int {
    guard case .tcp(let id)? = self[fd] else { return refusal(fd, SocketErrno.notConnected) }
    do { return try stack.tcpSend(id, bytes, now: now) } catch { return SocketErrno.of(error) }
  }

  /// Bytes received, 0 at the end of the stream.
  public mutating func receive<D>(_ fd: Int, into buffer: UnsafeMutableRawBufferPointer, in stack: inout NetStack<D>, now: UInt64)
    -> Int
  {
    guard case .tcp(let id)? = self[fd] else { return refusal(fd, SocketErrno.notConnected) }
    do { return try stack.tcpReceive(id, into: buffer, now: now) } catch { return SocketErrno.of(error) }
  }

  /// One datagram; an unbound UDP socket is bound to a free port first.
  public mutating func sendTo<D>(
    _ fd: Int, _ bytes: UnsafeRawBufferPointer, to address: IPv4Address, port: UInt16, in stack: inout NetStack<D>,
    now: UInt64
  ) -> Int {
    guard case .udp(let bound)? = self[fd] else { return refusal(fd, SocketErrno.invalid) }
    var socket = bound
    if socket == nil {
      let result = bind(fd, port: 0, in: &stack)
      guard result == 0, case .udp(let s)? = self[fd] else { return result }
      socket = s
    }
    do { try stack.udpSend(socket!, to: address, port: port, bytes: bytes, now: now) } catch {
      return SocketErrno.of(error)
    }
    return bytes.count
  }

  /// One datagram (cut to fit, as recvfrom does) and where it came from.
  public mutating func receiveFrom<D>(_ fd: Int, into buffer: UnsafeMutableRawBufferPointer, in stack: inout NetStack<D>)
    -> (result: Int, source: IPv4Address, port: UInt16)
  {
    guard case .udp(let bound)? = self[fd] else {
      return (refusal(fd, SocketErrno.invalid), .any, 0)
    }
    guard let socket = bound else { return (SocketErrno.invalid, .any, 0) }  // nothing can arrive unbound
    guard let got = stack.udpReceive(socket, into: buffer) else { return (SocketErrno.wouldBlock, .any, 0) }
    return (got.count, got.source, got.port)
  }

  /// Closes the socket (a TCP connection with FIN) and frees the descriptor.
  public mutating func close<D>(_ fd: Int, in stack: inout NetStack<D>, now: UInt64) -> Int {
    switch self[fd] {
    case nil: return SocketErrno.badDescriptor
    case .udp(let s?): try? stack.udpClose(s)
    case .tcp(let id): try? stack.tcpClose(id, now: now)
    default: break
    }
    slots[fd] = nil
    return 0
  }
}
