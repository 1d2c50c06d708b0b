// What TCP counts (every dropped segment is counted under its reason) and
// what it reports of one connection for tests and diagnostics.

public struct TCPStatistics: Equatable, Sendable {
  public var segmentsReceived: UInt64 = 0
  public var segmentsSent: UInt64 = 0
  /// `sendIP` said no: counted and treated as a loss.
  public var outputFailures: UInt64 = 0
  public var badChecksums: UInt64 = 0
  /// Short header, data offset below 5 or past the segment, port 0.
  public var malformedHeaders: UInt64 = 0
  /// An option whose length is below 2, runs past the header, or does not fit its kind.
  public var malformedOptions: UInt64 = 0
  /// From or to a broadcast, multicast or unspecified address.
  public var notUnicast: UInt64 = 0
  /// Segments for no connection (answered by a reset unless they were one).
  public var noConnection: UInt64 = 0
  public var resetsSent: UInt64 = 0
  public var resetsReceived: UInt64 = 0
  /// Resets whose sequence number was in the window but not RCV.NXT (RFC 5961 §3.2).
  public var resetsChallenged: UInt64 = 0
  /// SYNs in a synchronized state (RFC 5961 §4.2).
  public var synsChallenged: UInt64 = 0
  public var challengeAcks: UInt64 = 0
  public var challengeAcksSuppressed: UInt64 = 0
  /// Segments that failed the acceptability test (RFC 9293 §3.10.7.4).
  public var unacceptableSegments: UInt64 = 0
  public var outOfOrderSegments: UInt64 = 0
  /// Out-of-order data dropped because the connection's range list was full.
  public var outOfOrderDropped: UInt64 = 0
  public var listenOverflows: UInt64 = 0
  public var tableFull: UInt64 = 0
  public var activeOpens: UInt64 = 0
  public var passiveOpens: UInt64 = 0
  public var connectionsEstablished: UInt64 = 0
  public var connectionsReset: UInt64 = 0
  public var connectionsTimedOut: UInt64 = 0
  public var retransmissionTimeouts: UInt64 = 0
  public var retransmittedSegments: UInt64 = 0
  public var fastRetransmits: UInt64 = 0
  public var windowProbes: UInt64 = 0
  public var keepAliveProbes: UInt64 = 0
  public var delayedAcks: UInt64 = 0

  public init() {}
}

/// One connection's variables (RFC 9293 §3.3.1 names in the comments).
public struct TCPConnectionInfo: Equatable, Sendable {
  public var state: TCPState
  public var localAddress: IPv4Address
  public var localPort: UInt16
  public var remoteAddress: IPv4Address
  public var remotePort: UInt16
  public var sendUnacknowledged: TCPSequence  // SND.UNA
  public var sendNext: TCPSequence  // SND.NXT
  public var sendMax: TCPSequence  // highest sequence number sent, plus one
  public var sendWindow: UInt32  // SND.WND, scaled to bytes
  public var receiveNext: TCPSequence  // RCV.NXT
  public var receiveWindow: UInt32  // RCV.WND as last advertised
  public var sendMSS: UInt32  // the SMSS we use
  public var sendWindowScale: UInt8
  public var receiveWindowScale: UInt8
  public var congestionWindow: UInt32
  public var slowStartThreshold: UInt32
  public var inFastRecovery: Bool
  public var duplicateAcks: Int
  public var smoothedRTT: UInt64?  // nil before the first sample
  public var rttVariance: UInt64
  public var retransmissionTimeout: UInt64  // with the current backoff
  public var consecutiveTimeouts: Int
  public var bytesQueued: Int  // in the send buffer, unacknowledged included
  public var bytesReadable: Int
  public var noDelay: Bool
  public var keepAlive: TCPKeepAlive?
}
