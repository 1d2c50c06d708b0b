// The stack's sizes and timers, fixed when it is built: every table and
// queue is allocated once from these. The defaults fit an app of a few
// hundred KiB (about 100 KiB in all); an app that expects large UDP
// datagrams raises `reassemblyMaxSize` and `udpQueueBytes`.

public struct NetConfiguration: Sendable {
  /// Link MTU: the largest IPv4 datagram in one frame (RFC 894: 1500).
  public var mtu = 1500

  /// ARP cache entries and how long one lives (RFC 1122 §2.3.2.1 asks for a timeout).
  public var arpCacheEntries = 64
  public var arpLifetime: UInt64 = 300_000_000
  /// Requests sent for an unresolved address before its queue is dropped, and the gap between them.
  public var arpRequests = 3
  public var arpRetryInterval: UInt64 = 1_000_000
  /// Addresses being resolved at once, and frames held for each (RFC 1122 §2.3.2.2: at least one).
  public var arpPendingAddresses = 4
  public var arpFramesPerAddress = 4
  /// RFC 5227 §2.4 (c): a host with a static address defends it against a
  /// conflicting ARP packet with a broadcast announcement, at most once per
  /// DEFEND_INTERVAL (10 s).
  public var arpDefendInterval: UInt64 = 10_000_000

  /// Datagrams in reassembly at once, the largest IPv4 payload reassembled
  /// (at most 65,515: 65,535 less the header), and how long a partial one is kept (RFC 1122 §3.3.2).
  public var reassemblySlots = 4
  public var reassemblyMaxSize = 8192
  public var reassemblyTimeout: UInt64 = 30_000_000

  /// UDP sockets, and each one's receive queue in datagrams and bytes.
  public var udpSockets = 8
  public var udpQueueDatagrams = 16
  public var udpQueueBytes = 4096

  /// ICMP errors (port and protocol unreachable) as a token bucket: at most
  /// `icmpErrorBurst` at once, one more per `icmpErrorInterval`. 0 sends none.
  public var icmpErrorBurst = 10
  public var icmpErrorInterval: UInt64 = 100_000

  public init() {}

  /// The same with every size at least 1 and within what the wire allows.
  var clamped: NetConfiguration {
    var c = self
    c.mtu = min(max(c.mtu, 68), 1500)  // RFC 791: every host takes 68; Ethernet carries 1500
    c.arpCacheEntries = max(c.arpCacheEntries, 1)
    c.arpRequests = max(c.arpRequests, 1)
    c.arpPendingAddresses = max(c.arpPendingAddresses, 1)
    c.arpFramesPerAddress = max(c.arpFramesPerAddress, 1)
    c.reassemblySlots = max(c.reassemblySlots, 1)
    c.reassemblyMaxSize = min(max(c.reassemblyMaxSize, 8), IPv4Header.maxPayload)
    c.udpSockets = max(c.udpSockets, 1)
    c.udpQueueDatagrams = max(c.udpQueueDatagrams, 1)
    c.udpQueueBytes = max(c.udpQueueBytes, 1)
    c.icmpErrorBurst = max(c.icmpErrorBurst, 0)
    return c
  }
}
