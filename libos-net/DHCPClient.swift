// The DHCP client (RFC 2131 §4.4): INIT → SELECTING (DISCOVER until an
// OFFER) → REQUESTING (REQUEST until an ACK) → BOUND, then RENEWING at T1
// (unicast to the server) and REBINDING at T2 (broadcast) until the lease
// ends. A NAK, a REQUEST that is never answered, or the end of the lease
// sends it back to INIT. It asks with its own MAC as chaddr and the
// broadcast flag set (it cannot take unicast before it has an address;
// QEMU's libslirp broadcasts offers and acks anyway).
//
// Retransmission (§4.1): 4 s, doubling to at most 64 s, without the ±1 s
// randomisation (the stack has no entropy source; the xid varies by MAC
// and time instead). In RENEWING and REBINDING it waits half the time left
// to T2 or to the end of the lease, at least 60 s (§4.4.5).

public struct DHCPLease: Equatable, Sendable {
  public var address: IPv4Address
  public var server: IPv4Address
  /// What the server sent (the stack falls back to its own configuration where these are nil).
  public var netmask: IPv4Address?
  public var router: IPv4Address?
  public var dnsServer: IPv4Address?
  /// The lease in seconds; 0xffffffff is infinite (no timers).
  public var seconds: UInt32
  /// Absolute times (µs): T1, T2, end. Nil for an infinite lease.
  public var renewAt: UInt64?
  public var rebindAt: UInt64?
  public var expiresAt: UInt64?
}

public enum DHCPChange: Equatable, Sendable {
  /// Use this address (first lease, or a renewal, which may change it).
  case bound(DHCPLease)
  /// Stop using the address: the lease ended or the server refused it.
  case lost
}

public enum DHCPState: Equatable, Sendable {
  case initial, selecting, requesting, bound, renewing, rebinding
}

public struct DHCPClient {
  static let second: UInt64 = 1_000_000
  static let firstTimeout: UInt64 = 4 * second
  static let maxTimeout: UInt64 = 64 * second
  static let renewFloor: UInt64 = 60 * second
  /// REQUESTs retransmitted in REQUESTING before it starts over.
  static let requestRetries = 4
  static let infinite: UInt32 = 0xffff_ffff

  public let mac: MACAddress
  public private(set) var state = DHCPState.initial
  public private(set) var lease: DHCPLease?
  /// Messages for us that were not taken (wrong xid or type for the state, malformed, unusable).
  public private(set) var ignored: UInt64 = 0
  public private(set) var messagesSent: UInt64 = 0
  public private(set) var xid: UInt32 = 0
  private var deadline: UInt64? = 0
  private var attempt = 0
  private var started: UInt64 = 0
  private var offered = IPv4Address.any
  private var server = IPv4Address.any
  private var seed: UInt64
  private let buffer = FixedBytes(count: UDPHeader.size + DHCPRequestBuilder.size)

  public init(mac: MACAddress) {
    self.mac = mac
    seed = mac.packed
  }

  /// When `tick` next has work (the first DISCOVER is due at once).
  public var nextDeadline: UInt64? { deadline }

  public mutating func tick(now: UInt64, output: inout some IPOutput) -> DHCPChange? {
    guard let due = deadline, due <= now else { return nil }
    switch state {
    case .initial:
      start(now: now, output: &output)
    case .selecting:
      attempt += 1
      send(DHCPMessageType.discover, now: now, output: &output)
      deadline = now &+ backoff
    case .requesting:
      attempt += 1
      if attempt > Self.requestRetries {
        start(now: now, output: &output)
      } else {
        send(DHCPMessageType.request, now: now, output: &output)
        deadline = now &+ backoff
      }
    case .bound:
      state = .renewing
      xid = newXID(now)
      started = now
      return renew(now: now, output: &output)
    case .renewing, .rebinding:
      return renew(now: now, output: &output)
    }
    return nil
  }

  /// One message to UDP port 68 (the UDP payload).
  public mutating func receive(_ message: UnsafeRawBufferPointer, now: UInt64, output: inout some IPOutput)
    -> DHCPChange?
  {
    guard let reply = DHCPReply(parsing: message, mac: mac), reply.xid == xid else { return ignore() }
    switch (state, reply.messageType) {
    case (.selecting, DHCPMessageType.offer):
      guard reply.yourAddress.isHostAddress, let id = reply.serverID else { return ignore() }
      offered = reply.yourAddress
      server = id
      state = .requesting
      attempt = 0
      send(DHCPMessageType.request, now: now, output: &output)
      deadline = now &+ backoff
      return nil
    case (.requesting, DHCPMessageType.ack), (.renewing, DHCPMessageType.ack), (.rebinding, DHCPMessageType.ack):
      if state == .requesting, let id = reply.serverID, id != server { return ignore() }
      guard let granted = makeLease(reply, now: now) else { return ignore() }
      lease = granted
      server = granted.server  // a rebinding ACK may come from another server: renew with that one
      state = .bound
      deadline = granted.renewAt
      return .bound(granted)
    case (.requesting, DHCPMessageType.nak), (.renewing, DHCPMessageType.nak), (.rebinding, DHCPMessageType.nak):
      if state == .requesting, let id = reply.serverID, id != server { return ignore() }
      let had = lease != nil
      lease = nil
      start(now: now, output: &output)
      return had ? .lost : nil
    default:
      return ignore()
    }
  }

  // MARK: steps

  private mutating func ignore() -> DHCPChange? {
    ignored &+= 1
    return nil
  }

  /// INIT: a new transaction, and its first DISCOVER.
  private mutating func start(now: UInt64, output: inout some IPOutput) {
    state = .selecting
    xid = newXID(now)
    started = now
    attempt = 0
    send(DHCPMessageType.discover, now: now, output: &output)
    deadline = now &+ backoff
  }

  /// RENEWING and REBINDING: ask again, moving to REBINDING at T2 and
  /// back to INIT (reporting the loss) at the end of the lease.
  private mutating func renew(now: UInt64, output: inout some IPOutput) -> DHCPChange? {
    guard let current = lease, let rebindAt = current.rebindAt, let expiresAt = current.expiresAt else {
      deadline = nil
      return nil
    }
    if now >= expiresAt {
      lease = nil
      start(now: now, output: &output)
      return .lost
    }
    if state == .renewing && now >= rebindAt { state = .rebinding }
    let until = state == .renewing ? rebindAt : expiresAt
    send(DHCPMessageType.request, now: now, output: &output)
    deadline = min(until, now &+ max(Self.renewFloor, (until - now) / 2))
    return nil
  }

  private var backoff: UInt64 { min(Self.firstTimeout << UInt64(min(attempt, 8)), Self.maxTimeout) }

  private mutating func newXID(_ now: UInt64) -> UInt32 {
    // SplitMix64 over the MAC and the clock: distinct per host and per transaction.
    seed &+= 0x9e37_79b9_7f4a_7c15 ^ now
    var z = seed
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return UInt32(truncatingIfNeeded: z ^ (z >> 31))
  }

  private func makeLease(_ reply: DHCPReply, now: UInt64) -> DHCPLease? {
    guard reply.yourAddress.isHostAddress, let seconds = reply.leaseSeconds, seconds > 0 else { return nil }
    var granted = DHCPLease(
      address: reply.yourAddress, server: reply.serverID ?? server,
      netmask: reply.subnetMask.flatMap { $0.isContiguousNetmask && $0.value != 0 ? $0 : nil },
      router: reply.router.flatMap { $0.isHostAddress ? $0 : nil },
      dnsServer: reply.dnsServer.flatMap { $0.isHostAddress ? $0 : nil }, seconds: seconds)
    guard seconds != Self.infinite else { return granted }
    let total = UInt64(seconds)
    var t1 = reply.renewalSeconds.map(UInt64.init) ?? total / 2
    var t2 = reply.rebindingSeconds.map(UInt64.init) ?? total * 7 / 8
    if !(t1 < t2 && t2 < total) {
      t1 = total / 2
      t2 = total * 7 / 8
    }
    granted.renewAt = now &+ t1 * Self.second
    granted.rebindAt = now &+ t2 * Self.second
    granted.expiresAt = now &+ total * Self.second
    return granted
  }

  /// Builds and sends one message for the current state.
  private mutating func send(_ type: UInt8, now: UInt64, output: inout some IPOutput) {
    // Before a lease: no ciaddr, and the broadcast flag (we cannot take unicast yet).
    let acquiring = state == .selecting || state == .requesting
    let ours = lease?.address ?? .any
    let seconds = UInt16(min((now &- started) / Self.second, 0xffff))
    let whole = buffer.slice(0, buffer.count)
    let message = whole.bytes(UDPHeader.size, DHCPRequestBuilder.size)
    let length = DHCPRequestBuilder.build(
      into: message, type: type, xid: xid, seconds: seconds, mac: mac,
      clientAddress: acquiring ? .any : ours,
      requested: state == .requesting ? offered : nil, server: state == .requesting ? server : nil,
      broadcast: acquiring)
    let destination = state == .renewing ? server : IPv4Address.broadcast
    UDPHeader.build(
      into: whole.bytes(0, UDPHeader.size), sourcePort: DHCPPort.client, destinationPort: DHCPPort.server,
      source: output.localAddress, destination: destination, body: UnsafeRawBufferPointer(message.bytes(0, length)))
    messagesSent &+= 1
    output.sendIP(
      protocol: IPProtocol.udp, destination: destination,
      payload: UnsafeRawBufferPointer(whole.bytes(0, UDPHeader.size + length)))
  }
}
