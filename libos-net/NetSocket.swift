// One handle for either kind of socket, and poll(2)-style readiness over
// a set of them, so the libOS can block a thread on several sockets at
// once and wake it when any is ready. As in poll(2), `error` and `hangup`
// are reported whether or not they were asked for.

public enum NetSocket: Equatable, Hashable, Sendable {
  case udp(UDPSocket)
  case tcp(TCPConnectionID)
}

public struct SocketReadiness: OptionSet, Equatable, Sendable {
  public let rawValue: UInt8
  public init(rawValue: UInt8) { self.rawValue = rawValue }
  public static let readable = SocketReadiness(rawValue: 1)  // a datagram, data, or end of stream
  public static let writable = SocketReadiness(rawValue: 2)
  public static let acceptable = SocketReadiness(rawValue: 4)  // a TCP listener has a connection waiting
  public static let hangup = SocketReadiness(rawValue: 8)
  public static let error = SocketReadiness(rawValue: 16)  // reset, refused, timed out, or not a socket

  public init(_ tcp: TCPReadiness) {
    var r: SocketReadiness = []
    if tcp.contains(.readable) { r.insert(.readable) }
    if tcp.contains(.writable) { r.insert(.writable) }
    if tcp.contains(.acceptable) { r.insert(.acceptable) }
    if tcp.contains(.hangup) { r.insert(.hangup) }
    if tcp.contains(.error) { r.insert(.error) }
    self = r
  }
}

public struct PollEntry: Equatable, Sendable {
  public var socket: NetSocket
  public var interest: SocketReadiness
  /// Set by `poll`.
  public var ready: SocketReadiness = []

  public init(socket: NetSocket, interest: SocketReadiness) {
    self.socket = socket
    self.interest = interest
  }
}

extension NetStack {
  /// What `socket` can do now. A UDP socket is always writable (UDP does
  /// not wait for room) and readable with a datagram queued; a handle that
  /// is not open reports `.error`.
  public func readiness(of socket: NetSocket) -> SocketReadiness {
    switch socket {
    case .udp(let s):
      guard let slot = udp.slot(s) else { return .error }
      return udp.hasDatagram(slot) ? [.readable, .writable] : .writable
    case .tcp(let id):
      return SocketReadiness(tcp.readiness(id))
    }
  }

  /// Fills each entry's `ready` (what it asked for, plus error and hangup)
  /// and returns how many entries have something ready.
  public func poll(_ entries: UnsafeMutableBufferPointer<PollEntry>) -> Int {
    var count = 0
    for i in entries.indices {
      let ready = readiness(of: entries[i].socket).intersection(entries[i].interest.union([.error, .hangup]))
      entries[i].ready = ready
      if !ready.isEmpty { count += 1 }
    }
    return count
  }

  public func poll(_ entries: inout [PollEntry]) -> Int {
    entries.withUnsafeMutableBufferPointer { poll($0) }
  }
}
