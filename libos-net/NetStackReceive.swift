// The receive path above Ethernet: IPv4 checks and the choice of what is
// ours (RFC 1122 §3.2.1.3), reassembly, and the hand-off to ICMP (echo
// replies, RFC 792), UDP (sockets and the DHCP client) and TCP. ICMP
// errors we send (port and protocol unreachable, RFC 1122 §3.2.2) follow
// the rules there: only for a datagram to our own unicast address from a
// host address, never for a fragment or for an ICMP message, and at most
// as often as the token bucket allows.

extension NetStack {
  mutating func receiveIPv4(_ packet: UnsafeRawBufferPointer, now: UInt64) {
    let header: IPv4Header
    do {
      header = try IPv4Header(parsing: packet)
    } catch {
      if error == .badChecksum { link.counters.ipBadChecksum &+= 1 } else { link.counters.ipMalformed &+= 1 }
      return
    }
    if let ours = link.address {
      // A directed broadcast or our own address as the source is spoofed or looped.
      guard header.source != ours,
        !(header.source.sameSubnet(as: ours, netmask: link.netmask)
          && header.source.isSubnetBroadcast(netmask: link.netmask))
      else {
        link.counters.ipMalformed &+= 1
        return
      }
    }
    guard isForUs(header.destination) else {
      link.counters.ipNotForUs &+= 1
      return
    }
    let payload = packet.bytes(header.headerLength, header.payloadLength)
    guard header.isFragment else {
      link.counters.ipDatagramsIn &+= 1
      let quote = packet.bytes(0, header.headerLength + min(8, header.payloadLength))
      deliver(header, payload, quote: quote, now: now)
      return
    }
    switch reassembly.add(header, payload: payload, now: now) {
    case .held:
      link.counters.ipFragmentsHeld &+= 1
    case .complete(let slot, let length):
      link.counters.ipFragmentsHeld &+= 1
      link.counters.ipReassembled &+= 1
      // The bytes live in the reassembly storage until the slot is released.
      deliver(header, reassembly.datagram(slot: slot, length: length), quote: nil, now: now)
      reassembly.release(slot: slot)
    case .duplicate, .noSlot:
      link.counters.ipFragmentsDropped &+= 1
    case .discarded:
      link.counters.ipFragmentsDropped &+= 1
      link.counters.reassemblyDiscarded &+= 1
    }
  }

  /// Our address, the limited broadcast, or our subnet's broadcast (before
  /// DHCP has an address, only the limited broadcast).
  func isForUs(_ destination: IPv4Address) -> Bool {
    if destination == .broadcast { return true }
    guard let ours = link.address else { return false }
    return destination == ours
      || (destination.sameSubnet(as: ours, netmask: link.netmask)
        && destination.isSubnetBroadcast(netmask: link.netmask))
  }

  func isOurUnicast(_ destination: IPv4Address) -> Bool { link.address.map { $0 == destination } ?? false }

  /// One whole datagram's payload. `quote` is the start of the original
  /// datagram (header and 8 bytes) for an ICMP error, nil after reassembly.
  mutating func deliver(
    _ header: IPv4Header, _ payload: UnsafeRawBufferPointer, quote: UnsafeRawBufferPointer?, now: UInt64
  ) {
    switch header.protocol {
    case IPProtocol.icmp:
      receiveICMP(header, payload)
    case IPProtocol.udp:
      receiveUDP(header, payload, quote: quote, now: now)
    case IPProtocol.tcp:
      guard isOurUnicast(header.destination) else {
        link.counters.tcpNotUnicast &+= 1
        return
      }
      link.counters.tcpSegmentsIn &+= 1
      tcp.input(source: header.source, destination: header.destination, segment: payload, now: now, output: &link)
    default:
      link.counters.ipUnknownProtocol &+= 1
      sendUnreachable(ICMPUnreachableCode.protocolUnreachable, header, quote: quote, now: now)
    }
  }

  mutating func receiveICMP(_ header: IPv4Header, _ message: UnsafeRawBufferPointer) {
    guard message.count >= 8 else {
      link.counters.icmpMalformed &+= 1
      return
    }
    guard InternetChecksum.of(message) == 0 else {
      link.counters.icmpBadChecksum &+= 1
      return
    }
    // Echo to a broadcast is not answered (RFC 1122 §3.2.2.6 allows that; it makes smurf attacks pointless).
    guard message[0] == ICMPType.echoRequest, message[1] == 0, isOurUnicast(header.destination) else {
      link.counters.icmpIgnored &+= 1
      return
    }
    link.counters.icmpEchoAnswered &+= 1
    // The reply: type 0, the same identifier, sequence and data (RFC 792).
    var head: UInt64 = 0
    withUnsafeMutableBytes(of: &head) { h in
      h[0] = ICMPType.echoReply
      h[1] = 0
      for i in 4..<8 { h[i] = message[i] }
      let body = message.bytes(8, message.count - 8)
      var sum = InternetChecksum()
      sum.add(UnsafeRawBufferPointer(h))
      sum.add(body)
      h.storeBE16(sum.value, at: 2)
      _ = link.send(protocol: IPProtocol.icmp, destination: header.source, head: UnsafeRawBufferPointer(h), body: body)
    }
  }

  mutating func receiveUDP(
    _ header: IPv4Header, _ payload: UnsafeRawBufferPointer, quote: UnsafeRawBufferPointer?, now: UInt64
  ) {
    let udpHeader: UDPHeader
    do {
      udpHeader = try UDPHeader(parsing: payload, source: header.source, destination: header.destination)
    } catch {
      if error == .badChecksum { link.counters.udpBadChecksum &+= 1 } else { link.counters.udpMalformed &+= 1 }
      return
    }
    let data = payload.bytes(UDPHeader.size, udpHeader.length - UDPHeader.size)
    if udpHeader.destinationPort == DHCPPort.client && dhcp != nil {
      link.counters.dhcpIn &+= 1
      if let change = dhcp?.receive(data, now: now, output: &link) ?? nil { apply(change) }
      return
    }
    guard let slot = udp.slot(forPort: udpHeader.destinationPort) else {
      link.counters.udpNoSocket &+= 1
      sendUnreachable(ICMPUnreachableCode.portUnreachable, header, quote: quote, now: now)
      return
    }
    if udp.enqueue(slot, source: header.source, port: udpHeader.sourcePort, bytes: data) {
      link.counters.udpDelivered &+= 1
    } else {
      link.counters.udpQueueFull &+= 1
    }
  }

  /// ICMP destination unreachable with `code`, quoting the offending datagram's header and first 8 bytes.
  mutating func sendUnreachable(_ code: UInt8, _ header: IPv4Header, quote: UnsafeRawBufferPointer?, now: UInt64) {
    guard let quote, isOurUnicast(header.destination), header.source.isHostAddress,
      header.protocol != IPProtocol.icmp
    else { return }
    guard icmpErrors.allow(now: now) else {
      link.counters.icmpRateLimited &+= 1
      return
    }
    link.counters.icmpErrorsSent &+= 1
    var head: UInt64 = 0
    withUnsafeMutableBytes(of: &head) { h in
      h[0] = ICMPType.destinationUnreachable
      h[1] = code
      var sum = InternetChecksum()
      sum.add(UnsafeRawBufferPointer(h))
      sum.add(quote)
      h.storeBE16(sum.value, at: 2)
      _ = link.send(protocol: IPProtocol.icmp, destination: header.source, head: UnsafeRawBufferPointer(h), body: quote)
    }
  }
}
