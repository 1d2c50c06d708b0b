// ARP's receive side and timers (RFC 826's packet reception algorithm,
// with RFC 1122 §2.3.2 and RFC 5227's probes): answer requests for our
// address, learn only from plausible senders, release the frames that
// waited for a reply, and give up on addresses that never answer.
//
// What is learned: an entry we already hold is refreshed (RFC 826's merge
// step, which lets a host announce a new MAC); a new entry is made only
// when the packet targets us or answers our own request. A sender with a
// broadcast, multicast or zero MAC, our own MAC or address, or an address
// outside our subnet is ignored, so no packet can put garbage in the cache.
//
// A packet from another MAC that names our address as its sender is a
// conflict (RFC 5227 §2.4). Our address is static (the boot configuration
// gave it), so we take option (c) and defend it for as long as we run: a
// broadcast announcement puts our MAC back in every neighbour's cache,
// and DEFEND_INTERVAL bounds how often, so two hosts claiming one address
// cannot make us flood the link.

extension LinkLayer {
  mutating func receiveARP(_ payload: UnsafeRawBufferPointer) {
    guard let packet = ARPPacket(parsing: payload) else {
      counters.arpMalformed &+= 1
      return
    }
    let sender = packet.senderIP
    if let address, sender == address, packet.senderMAC != mac {
      counters.arpConflicts &+= 1
      defend(address)
      return
    }
    let probe = sender.value == 0  // RFC 5227: "who has X", asked by a host without an address
    guard let address, packet.senderMAC.isUnicast, packet.senderMAC != mac, sender != address,
      probe
        || (sender.isHostAddress && sender.sameSubnet(as: address, netmask: netmask)
          && !sender.isSubnetBroadcast(netmask: netmask))
    else {
      counters.arpIgnored &+= 1
      return
    }
    var learned = false
    if !probe {
      learned = arp.update(sender, mac: packet.senderMAC, now: now)
      if let slot = arp.pendingIndex(for: sender) {
        if !learned { arp.insert(sender, mac: packet.senderMAC, now: now) }
        learned = true
        flush(slot, to: packet.senderMAC)
      }
    }
    guard packet.targetIP == address else {
      if learned { counters.arpProcessed &+= 1 } else { counters.arpIgnored &+= 1 }
      return
    }
    if !probe && !learned { arp.insert(sender, mac: packet.senderMAC, now: now) }
    if packet.operation == ARPPacket.request {
      sendARP(operation: ARPPacket.reply, to: packet.senderMAC, targetMAC: packet.senderMAC, targetIP: sender)
    }
    counters.arpProcessed &+= 1
  }

  /// An announcement (RFC 5227 §3: a request whose sender and target are
  /// both our address), unless we sent one within the defend interval.
  private mutating func defend(_ address: IPv4Address) {
    if let last = lastDefence, now &- last < defendInterval { return }
    lastDefence = now
    counters.arpDefences &+= 1
    sendARP(operation: ARPPacket.request, to: .broadcast, targetMAC: .zero, targetIP: address)
  }

  /// Sends the frames that waited in `slot`, now addressed to `target`.
  private mutating func flush(_ slot: Int, to target: MACAddress) {
    for j in 0..<arp.pending[slot].frames {
      let frame = arp.frame(slot, j)
      target.store(to: frame, at: 0)
      _ = transmit(copying: UnsafeRawBufferPointer(frame))
    }
    arp.release(slot)
  }

  /// Asks again for addresses still unresolved, and drops the frames of
  /// those that did not answer any of the requests.
  mutating func tickARP(now: UInt64) {
    for i in arp.pending.indices where arp.pending[i].inUse && arp.pending[i].nextRequest <= now {
      if arp.pending[i].requestsSent >= arp.maxRequests {
        counters.arpUnresolved &+= UInt64(arp.pending[i].frames)
        arp.release(i)
      } else {
        sendARP(operation: ARPPacket.request, to: .broadcast, targetMAC: .zero, targetIP: arp.pending[i].address)
        arp.noteRequest(i, now: now)
      }
    }
  }
}
