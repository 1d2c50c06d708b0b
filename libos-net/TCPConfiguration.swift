// The knobs of one TCP instance: table and buffer sizes (the app heap is
// small, so everything is bounded and allocated when a connection opens),
// timer constants and the ISN seed. Times are microseconds.

/// RFC 1122 §4.2.3.6 keep-alive: off unless asked for, and then no sooner
/// than two hours of idleness by default.
public struct TCPKeepAlive: Equatable, Sendable {
  /// Idle time before the first probe.
  public var idle: UInt64
  /// Time between unanswered probes.
  public var interval: UInt64
  /// Unanswered probes after which the connection times out.
  public var probes: Int

  public init(idle: UInt64 = 7_200_000_000, interval: UInt64 = 75_000_000, probes: Int = 9) {
    self.idle = idle
    self.interval = interval
    self.probes = probes
  }
}

public struct TCPConfiguration: Sendable {
  /// Slots in the connection table, listeners included.
  public var maxConnections = 32
  /// Per-connection buffers, allocated when the connection opens.
  public var sendBufferSize = 32 * 1024
  public var receiveBufferSize = 32 * 1024
  /// The MSS we announce and the largest segment we send (RFC 9293 §3.7.1);
  /// 1460 fits a 1500-byte Ethernet MTU.
  public var mss: UInt16 = 1460
  /// RFC 7323 §2: offer window scaling (used only when both SYNs carry it).
  public var windowScaling = true
  /// RFC 1122 §4.2.3.4 / RFC 896: hold small segments while data is in flight.
  public var nagle = true
  /// Keep-alive for every new connection; `nil` is off (the RFC 1122 default).
  public var keepAlive: TCPKeepAlive? = nil
  /// Maximum segment lifetime; TIME-WAIT lasts 2 * MSL. Shorter than RFC
  /// 9293's two minutes so that ports come back sooner on a small table.
  public var msl: UInt64 = 30_000_000
  /// RFC 6298 §2.1 initial RTO.
  public var initialRTO: UInt64 = 1_000_000
  /// RFC 6298 §2.4 asks for a 1 s floor; 200 ms (what Linux uses) is the
  /// default here because this stack talks to a host over a virtual link.
  public var minRTO: UInt64 = 200_000
  /// RFC 6298 §2.5 allows a ceiling of at least 60 s.
  public var maxRTO: UInt64 = 60_000_000
  /// The G of RFC 6298 §2.
  public var clockGranularity: UInt64 = 1_000
  /// Consecutive timeouts on data (or unanswered window probes) before
  /// `.timedOut` (RFC 9293 §3.8.3's R2).
  public var maxRetransmissions = 12
  /// The same for SYN and SYN-ACK (R2 for SYN).
  public var maxSynRetransmissions = 6
  /// RFC 1122 §4.2.3.2: at most 500 ms; 0 acknowledges every segment at once.
  public var delayedAckTimeout: UInt64 = 200_000
  /// Out-of-order ranges a connection keeps while it waits for a hole to fill.
  public var maxOutOfOrderRanges = 8
  /// RFC 5961 §7 challenge-ACK throttle, per connection per second.
  public var challengeAckLimit = 10
  /// Keys the RFC 6528 ISN hash and picks the first ephemeral port; give
  /// each boot a different one (there is no entropy source to ask).
  public var seed: UInt64 = 0

  public init() {}
}
