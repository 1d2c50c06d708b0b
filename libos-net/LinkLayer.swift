// The link layer under every transport: it implements `IPOutput` by
// routing (the same subnet goes direct, anything else to the gateway,
// RFC 1122 §3.3.1), building the IPv4 header with a fresh identification,
// fragmenting what does not fit the MTU (RFC 791 §3.2), resolving the next
// hop through the ARP cache (frames wait in its bounded queue while it
// asks), and framing for Ethernet, straight into the device's transmit
// buffer (the kernel reads it from there: no copy after this). It owns the device and the counters, so
// TCP can be handed `&link` as its output while the stack keeps TCP in a
// separate stored property. ARP's receive side is in LinkLayerARP.swift.

public struct LinkLayer<Device: NetworkInterface>: IPOutput {
  public var device: Device
  public internal(set) var address: IPv4Address?
  public internal(set) var netmask: IPv4Address
  public internal(set) var gateway: IPv4Address?
  public internal(set) var counters = NetCounters()
  var arp: ARPCache
  /// The caller's clock as of the stack's last entry point (sendIP has no `now`).
  var now: UInt64 = 0
  var nextIdentification: UInt16
  let mtu: Int
  let defendInterval: UInt64
  /// When we last announced our address against a conflict (LinkLayerARP).
  var lastDefence: UInt64? = nil

  /// What happened to one datagram handed to `send`.
  enum SendResult: Equatable {
    case sent, queued, noRoute, tooBig, queueFull, deviceRefused
    var succeeded: Bool { self == .sent || self == .queued }
  }

  enum NextHop: Equatable {
    case broadcast
    case multicast(MACAddress)
    case host(IPv4Address)
  }

  init(
    device: Device, address: IPv4Address?, netmask: IPv4Address, gateway: IPv4Address?,
    configuration: NetConfiguration
  ) {
    self.device = device
    self.address = address
    self.netmask = netmask
    self.gateway = gateway
    arp = ARPCache(configuration: configuration)
    mtu = configuration.mtu
    defendInterval = configuration.arpDefendInterval
    // Start identifications somewhere host-specific, so two hosts restarted together do not agree.
    nextIdentification = UInt16(truncatingIfNeeded: device.mac.packed &* 0x9e37_79b9)
  }

  public var mac: MACAddress { device.mac }
  public var localAddress: IPv4Address { address ?? .any }

  /// The MAC cached for `ip`, if any and not expired.
  public func cachedMAC(for ip: IPv4Address) -> MACAddress? { arp.lookup(ip, now: now) }

  @discardableResult
  public mutating func sendIP(protocol: UInt8, destination: IPv4Address, payload: UnsafeRawBufferPointer) -> Bool {
    let noHead = UnsafeRawBufferPointer(start: nil, count: 0)
    return send(protocol: `protocol`, destination: destination, head: noHead, body: payload).succeeded
  }

  mutating func configure(address: IPv4Address?, netmask: IPv4Address, gateway: IPv4Address?) {
    self.address = address
    self.netmask = netmask
    self.gateway = gateway
  }

  /// Where a datagram for `destination` goes first; nil when nowhere (no
  /// address yet and not a broadcast, loopback, ourselves, no gateway).
  func route(_ destination: IPv4Address) -> NextHop? {
    if destination == .broadcast { return .broadcast }
    guard let address else { return nil }
    if destination.isMulticast {
      // RFC 1112 §6.4: 01:00:5e and the low 23 bits of the group.
      let v = destination.value
      return .multicast(
        MACAddress(
          0x01, 0x00, 0x5e, UInt8(truncatingIfNeeded: v >> 16) & 0x7f, UInt8(truncatingIfNeeded: v >> 8),
          UInt8(truncatingIfNeeded: v)))
    }
    guard destination.value != 0, !destination.isLoopback, !destination.isReserved, destination != address else {
      return nil
    }
    if destination.sameSubnet(as: address, netmask: netmask) {
      return destination.isSubnetBroadcast(netmask: netmask) ? .broadcast : .host(destination)
    }
    guard let gateway, gateway != address else { return nil }
    return .host(gateway)
  }

  /// Sends one datagram whose payload is `head` followed by `body` (a
  /// transport header built on the stack and the bytes it carries, so that
  /// nothing is copied twice), fragmented when it exceeds the MTU.
  mutating func send(
    protocol proto: UInt8, destination: IPv4Address, head: UnsafeRawBufferPointer, body: UnsafeRawBufferPointer
  ) -> SendResult {
    let length = head.count + body.count
    guard length <= IPv4Header.maxPayload else {
      counters.datagramTooBig &+= 1
      return .tooBig
    }
    guard let hop = route(destination) else {
      counters.noRoute &+= 1
      return .noRoute
    }
    let room = mtu - IPv4Header.minimumSize
    let piece = room & ~7
    let pieces = length <= room ? 1 : (length + piece - 1) / piece
    var target = MACAddress.zero
    var waiting: Int? = nil
    switch hop {
    case .broadcast: target = .broadcast
    case .multicast(let group): target = group
    case .host(let ip):
      if let known = arp.lookup(ip, now: now) {
        target = known
      } else {
        guard let (slot, isNew) = arp.reserve(ip, frames: pieces, now: now) else {
          counters.arpQueueFull &+= 1
          return .queueFull
        }
        if isNew { sendARP(operation: ARPPacket.request, to: .broadcast, targetMAC: .zero, targetIP: ip) }
        waiting = slot
      }
    }
    let identification = nextIdentification
    nextIdentification &+= 1
    var result: SendResult = waiting == nil ? .sent : .queued
    var offset = 0
    for n in 0..<pieces {
      let count = pieces == 1 ? length : min(piece, length - offset)
      let header = IPv4Header(
        totalLength: IPv4Header.minimumSize + count, identification: identification, moreFragments: n < pieces - 1,
        fragmentOffset: offset, protocol: proto, source: localAddress, destination: destination)
      // A frame that waits for ARP is built in the cache's queue and copied
      // to the device later; any other goes to the device from where it is built.
      if let buffer = waiting.map({ arp.nextFrameBuffer($0) }) ?? device.transmitBuffer() {
        let frameLength = buildFrame(into: buffer, to: target, header: header, head: head, body: body, from: offset)
        if let slot = waiting {
          arp.commitFrame(slot, length: frameLength)
        } else if !transmit(count: frameLength) {
          result = .deviceRefused
        }
      } else {
        counters.transmitFailed &+= 1
        result = .deviceRefused
      }
      offset += count
    }
    return result
  }

  /// Writes one frame: Ethernet and IPv4 headers, then the header's payload
  /// length of bytes taken from `head`+`body` at `from`, padded to 60 bytes.
  private func buildFrame(
    into frame: UnsafeMutableRawBufferPointer, to target: MACAddress, header: IPv4Header,
    head: UnsafeRawBufferPointer, body: UnsafeRawBufferPointer, from start: Int
  ) -> Int {
    EthernetHeader(destination: target, source: mac, type: EtherType.ipv4).store(to: frame)
    header.store(to: frame.bytes(EthernetHeader.size, IPv4Header.minimumSize))
    var at = EthernetHeader.size + IPv4Header.minimumSize
    var position = start
    var remaining = header.payloadLength
    if position < head.count {
      let n = min(head.count - position, remaining)
      frame.copy(head.bytes(position, n), to: at)
      at += n
      position += n
      remaining -= n
    }
    if remaining > 0 {
      frame.copy(body.bytes(position - head.count, remaining), to: at)
      at += remaining
    }
    return pad(frame, at)
  }

  /// Zeroes the bytes from `length` up to the minimum frame; returns the length to send.
  func pad(_ frame: UnsafeMutableRawBufferPointer, _ length: Int) -> Int {
    let padded = EthernetHeader.paddedLength(length)
    for i in length..<padded { frame[i] = 0 }
    return padded
  }

  /// Sends the frame built in the buffer the device last handed out.
  mutating func transmit(count: Int) -> Bool {
    if device.transmit(count: count) {
      counters.framesOut &+= 1
      return true
    }
    counters.transmitFailed &+= 1
    return false
  }

  /// Sends a frame built elsewhere (one that waited for ARP), copying it
  /// into a device buffer.
  mutating func transmit(copying frame: UnsafeRawBufferPointer) -> Bool {
    guard let buffer = device.transmitBuffer() else {
      counters.transmitFailed &+= 1
      return false
    }
    buffer.copy(frame, to: 0)
    return transmit(count: frame.count)
  }

  /// Builds and sends an ARP packet from us.
  mutating func sendARP(operation: UInt16, to destination: MACAddress, targetMAC: MACAddress, targetIP: IPv4Address) {
    guard let frame = device.transmitBuffer() else {
      counters.transmitFailed &+= 1
      return
    }
    EthernetHeader(destination: destination, source: mac, type: EtherType.arp).store(to: frame)
    ARPPacket(operation: operation, senderMAC: mac, senderIP: localAddress, targetMAC: targetMAC, targetIP: targetIP)
      .store(to: frame.bytes(EthernetHeader.size, ARPPacket.size))
    let length = pad(frame, EthernetHeader.size + ARPPacket.size)
    if operation == ARPPacket.request { counters.arpRequestsSent &+= 1 } else { counters.arpRepliesSent &+= 1 }
    _ = transmit(count: length)
  }
}
