// The network stack one app links (the exokernel idea: the kernel hands the
// env whole frames its packet filters claim and checks the headers of what
// it sends; everything between is this library's policy). It ties the
// layers together: Ethernet in, ARP or IPv4, reassembly, then ICMP, UDP,
// DHCP or TCP; and owns every table, sized once at init.
//
// It is hardware-free and single-threaded: the caller (the libOS glue)
// hands it received frames and the clock, calls `tick` when `nextDeadline`
// passes, and drives the non-blocking socket calls (NetStackSockets.swift,
// NetSocket.swift). Times are microseconds on the caller's monotonic clock.
//
// Keep one NetStack value and mutate it in place: its byte storage is
// made once and shared by copies (see FixedBytes.swift).
//
// TCP (`tcp`) and the link layer (`link`, which implements `IPOutput` and
// owns the device, the ARP cache and the counters) are separate stored
// properties, so `tcp.input(..., output: &link)` is not an overlapping
// access.

public struct NetStack<Device: NetworkInterface> {
  public var link: LinkLayer<Device>
  public var tcp: TCP
  public internal(set) var dhcp: DHCPClient?
  var reassembly: IPv4Reassembly
  var udp: UDPSocketTable
  var icmpErrors: ICMPErrorLimiter
  /// What the stack uses where DHCP's answer leaves out a netmask or router.
  let fallbackNetmask: IPv4Address
  let fallbackGateway: IPv4Address?

  /// A stack on `device`. With an address it is configured at once; with
  /// nil it runs a DHCP client, whose first DISCOVER is due at the first
  /// `tick` (`nextDeadline` is 0), and `netmask`/`gateway` are used only
  /// where the server's answer does not give them.
  public init(
    device: Device, address: IPv4Address?, netmask: IPv4Address = IPv4Address(255, 255, 255, 0),
    gateway: IPv4Address? = IPv4Address(10, 0, 2, 2), configuration: NetConfiguration = NetConfiguration()
  ) {
    let c = configuration.clamped
    let mask = netmask.isContiguousNetmask ? netmask : IPv4Address(255, 255, 255, 0)
    dhcp = address == nil ? DHCPClient(mac: device.mac) : nil
    link = LinkLayer(device: device, address: address, netmask: mask, gateway: gateway, configuration: c)
    tcp = TCP()
    reassembly = IPv4Reassembly(configuration: c)
    udp = UDPSocketTable(configuration: c)
    icmpErrors = ICMPErrorLimiter(burst: c.icmpErrorBurst, interval: c.icmpErrorInterval)
    fallbackNetmask = mask
    fallbackGateway = gateway
  }

  public var mac: MACAddress { link.mac }
  /// Our address: nil until DHCP has a lease.
  public var address: IPv4Address? { link.address }
  public var counters: NetCounters { link.counters }
  /// Datagrams being reassembled now.
  public var reassemblingCount: Int { reassembly.activeCount }

  /// One frame from the device (the receive ring); the stack does not keep the buffer.
  public mutating func receive(frame: UnsafeRawBufferPointer, now: UInt64) {
    link.now = now
    link.counters.framesIn &+= 1
    guard let ethernet = EthernetHeader(parsing: frame) else {
      link.counters.ethernetMalformed &+= 1
      return
    }
    guard ethernet.destination == link.mac || ethernet.destination == .broadcast else {
      link.counters.ethernetNotForUs &+= 1
      return
    }
    let payload = frame.bytes(EthernetHeader.size, frame.count - EthernetHeader.size)
    switch ethernet.type {
    case EtherType.arp: link.receiveARP(payload)
    case EtherType.ipv4: receiveIPv4(payload, now: now)
    default: link.counters.ethernetUnknownType &+= 1
    }
  }

  /// Runs every timer that is due: ARP retries, reassembly timeouts, DHCP, TCP.
  public mutating func tick(now: UInt64) {
    link.now = now
    link.tickARP(now: now)
    link.counters.reassemblyTimeouts &+= UInt64(reassembly.expire(now: now))
    if let change = dhcp?.tick(now: now, output: &link) ?? nil { apply(change) }
    tcp.tick(now: now, output: &link)
  }

  /// The earliest time `tick` has work: an ARP retry, a reassembly
  /// timeout, a DHCP retransmission or renewal, a TCP timer.
  public var nextDeadline: UInt64? {
    var earliest = Deadline.earliest(link.arp.nextDeadline, reassembly.nextDeadline)
    earliest = Deadline.earliest(earliest, dhcp?.nextDeadline)
    return Deadline.earliest(earliest, tcp.nextDeadline)
  }

  mutating func apply(_ change: DHCPChange) {
    switch change {
    case .bound(let lease):
      link.configure(
        address: lease.address, netmask: lease.netmask ?? fallbackNetmask, gateway: lease.router ?? fallbackGateway)
    case .lost:
      link.configure(address: nil, netmask: fallbackNetmask, gateway: fallbackGateway)
    }
  }
}
