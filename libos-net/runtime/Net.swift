// The network libOS in a running env: one stack (libos-net) over this env's
// kernel binding. `start` attaches the receive ring and binds the packet
// filters that prove the env's (MAC, IPv4) pair; `poll` feeds received
// frames and the clock to the stack; `wait` blocks until a frame, a timer
// of the stack, or a deadline, giving the CPU to another ready thread of
// the env first and otherwise sleeping the env in `event_wait`.
import LibOSNet
import LibOSRuntime

public enum NetError: Error, Equatable {
  /// A kernel call failed (no device, no binding, no frames for the ring...).
  case kernel(ExoError)
  /// `net_bind` refused a filter; `reason` is the verifier's code.
  case filter(ExoError, reason: UInt64)
  case udp(UDPError)
  case tcp(TCPError)
  /// DHCP found no address in time.
  case noAddress
  case timedOut
}

public enum Net {
  nonisolated(unsafe) static var stack: NetStack<KernelNIC>? = nil
  nonisolated(unsafe) static var ring: ReceiveRing? = nil

  /// Microseconds on the TSC, the clock every timer of the stack runs on.
  public static var now: UInt64 { Time.now() &* 1000 / max(Time.tscPerMillisecond, 1) }

  /// Starts the stack: static address from the boot configuration, or DHCP
  /// when it gives none (then waits up to `dhcpTimeout` µs for a lease).
  @discardableResult
  public static func start(
    configuration: NetConfiguration = NetConfiguration(), tcp: TCPConfiguration = TCPConfiguration(),
    dhcpTimeout: UInt64 = 10_000_000
  ) throws(NetError) -> IPv4Address {
    let ring: ReceiveRing
    do { ring = try ReceiveRing.attach() } catch { throw .kernel(error) }
    self.ring = ring
    let dhcp = ring.address.value == 0
    try bind(PacketFilter.unicast(mac: ring.mac.packed))
    if dhcp {
      try bind(PacketFilter.dhcpReplies(to: ring.mac.packed))
    } else {
      try bind(PacketFilter.arpRequests(for: ring.address.value))
    }
    var s = NetStack(device: KernelNIC(mac: ring.mac), address: dhcp ? nil : ring.address, configuration: configuration)
    // ISNs and ephemeral ports come from a keyed hash (RFC 6528); the TSC at
    // start is the only varying key there is (no entropy source here).
    var tcp = tcp
    if tcp.seed == 0 { tcp.seed = Time.now() }
    s.tcp = TCP(configuration: tcp)
    stack = s
    if dhcp {
      let deadline = now &+ dhcpTimeout
      while stack!.address == nil {
        guard now < deadline else { throw .noAddress }
        wait(until: deadline)
      }
      // The kernel bound the leased address when the ACK went by: ARP
      // requests for it can now be claimed.
      try bind(PacketFilter.arpRequests(for: stack!.address!.value))
    }
    return stack!.address!
  }

  public static func bind(_ filter: PacketFilter) throws(NetError) {
    var bytes = [UInt8](repeating: 0, count: filter.encodedCount)
    let result = bytes.withUnsafeMutableBytes { b in
      _ = filter.encode(into: b)
      return Exo.netBind(UnsafeRawBufferPointer(b))
    }
    if let error = result.status { throw .filter(error, reason: result.value) }
  }

  public static var mac: MACAddress { stack!.mac }
  public static var address: IPv4Address? { stack!.address }
  /// What DHCP gave (nil for a static address).
  public static var lease: DHCPLease? { stack!.dhcp?.lease }
  public static var counters: NetCounters { stack!.counters }
  public static var droppedFull: UInt64 { ring?.droppedFull ?? 0 }

  /// The frame most recently taken off the ring (the one being processed,
  /// while the stack handles it): the kernel's cost to receive it, from its
  /// slot (NetRing.slotCost), and the TSC when the libOS took it.
  public static var frameKernelCost: UInt64 { ring?.lastKernelCost ?? 0 }
  public static var frameTakenAt: UInt64 { ring?.lastTakenAt ?? 0 }

  /// Feeds every waiting frame to the stack and runs its due timers;
  /// whether any frame arrived.
  @discardableResult
  public static func poll() -> Bool {
    var any = false
    let t = now
    while ring!.receive({ frame in stack!.receive(frame: frame, now: t) }) { any = true }
    if let due = stack!.nextDeadline, due <= t { stack!.tick(now: t) }
    return any
  }

  /// Blocks the calling thread until something may have changed: a frame,
  /// a timer of the stack, or `deadline` (µs). While another thread of this
  /// env can run, this one parks (ThreadParking); the last one that cannot
  /// sleeps the env in `event_wait`, then polls and unparks the rest.
  public static func wait(until deadline: UInt64? = nil) {
    if poll() {
      ThreadParking.unparkAll()
      return
    }
    if ThreadParking.park() { return }
    let t = now
    var next = stack!.nextDeadline
    if let deadline { next = min(next ?? deadline, deadline) }
    // A thread sleeping on a timer is not woken by the kernel: look again soon.
    if ThreadParking.anySleeping { next = min(next ?? (t &+ 10_000), t &+ 10_000) }
    if let next, next > t {
      // event_wait's timeout 0 means "no deadline"; a frame sets the ring's event bit.
      _ = try? Exo.eventWait(microseconds: next - t)
    } else if next == nil {
      _ = try? Exo.eventWait(microseconds: 0)
    }
    poll()
    ThreadParking.unparkAll()
  }
}

extension TCPError {
  public var name: StaticString {
    switch self {
    case .addressInUse: return "address in use"
    case .tableFull: return "connection table full"
    case .noSuchConnection: return "no such connection"
    case .notListening: return "not listening"
    case .notConnected: return "not connected"
    case .connectionReset: return "connection reset"
    case .connectionRefused: return "connection refused"
    case .timedOut: return "timed out"
    case .closed: return "closed"
    case .wouldBlock: return "would block"
    case .badArgument: return "bad argument"
    }
  }
}

extension NetError: CustomStringConvertible {
  public var description: String {
    switch self {
    case .kernel(let e): return "kernel call failed: \(e.name)"
    case .filter(let e, let reason): return "net_bind refused: \(e.name) (reason \(reason))"
    case .udp: return "udp call failed"
    case .tcp(let e): return "tcp: \(e.name)"
    case .noAddress: return "no address from DHCP"
    case .timedOut: return "timed out"
    }
  }
}
