// The values the stack and the apps see of TCP: connection ids, errors,
// states (RFC 9293 §3.3.2) and readiness bits for polling.

/// Names one connection or listener: a slot of the connection table and the
/// slot's generation, so that an id kept after its connection ended can
/// never reach the slot's next occupant.
public struct TCPConnectionID: Equatable, Hashable, Sendable {
  public let index: Int32
  public let generation: UInt32
  public init(index: Int32, generation: UInt32) {
    self.index = index
    self.generation = generation
  }
}

public enum TCPError: Error, Equatable, Sendable {
  case addressInUse, tableFull, noSuchConnection, notListening, notConnected
  case connectionReset, connectionRefused, timedOut, closed, wouldBlock, badArgument
}

/// RFC 9293 §3.3.2. A connection whose peer reset it, that timed out or was
/// refused sits in `.closed` with its error until the app closes it.
public enum TCPState: Equatable, Sendable {
  case closed, listen, synSent, synReceived, established, finWait1, finWait2, closeWait, closing, lastAck, timeWait
}

public struct TCPReadiness: OptionSet, Sendable {
  public let rawValue: UInt8
  public init(rawValue: UInt8) { self.rawValue = rawValue }
  public static let readable = TCPReadiness(rawValue: 1)  // data, or end of stream, to receive
  public static let writable = TCPReadiness(rawValue: 2)  // room in the send buffer
  public static let acceptable = TCPReadiness(rawValue: 4)  // a listener has an established connection waiting
  public static let hangup = TCPReadiness(rawValue: 8)  // the peer closed or the connection ended
  public static let error = TCPReadiness(rawValue: 16)  // reset, refused or timed out
}
