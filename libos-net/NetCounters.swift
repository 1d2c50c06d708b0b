// What the stack saw and did, by layer and by reason. Every received frame
// ends in exactly one frame outcome, and every IPv4 datagram handed up
// (whole, or reassembled from fragments) in exactly one datagram outcome;
// `framesAccounted` and `datagramsAccounted` let a test check that nothing
// is lost or counted twice.

public struct NetCounters: Equatable, Sendable {
  // Frames in, and the outcome of each.
  public var framesIn: UInt64 = 0
  public var ethernetMalformed: UInt64 = 0  // shorter than 14 or longer than 1514 bytes
  public var ethernetNotForUs: UInt64 = 0  // another MAC, or a multicast group we are not in
  public var ethernetUnknownType: UInt64 = 0  // not IPv4 or ARP (IPv6, VLAN, 802.3 length)
  public var arpMalformed: UInt64 = 0  // truncated, not Ethernet/IPv4, unknown operation
  public var arpIgnored: UInt64 = 0  // bogus sender, our own address, not for us
  public var arpProcessed: UInt64 = 0
  public var arpConflicts: UInt64 = 0  // another MAC claimed our address (RFC 5227 §2.4)
  public var ipMalformed: UInt64 = 0  // version, IHL, lengths, TTL 0, bad source, bad fragment fields
  public var ipBadChecksum: UInt64 = 0
  public var ipNotForUs: UInt64 = 0
  public var ipFragmentsHeld: UInt64 = 0  // taken into reassembly
  public var ipFragmentsDropped: UInt64 = 0  // duplicate, overlapping, too big, no free slot
  public var ipDatagramsIn: UInt64 = 0  // whole datagrams handed up

  // Datagrams handed up (`ipDatagramsIn + ipReassembled`), and the outcome of each.
  public var ipReassembled: UInt64 = 0
  public var ipUnknownProtocol: UInt64 = 0
  public var icmpMalformed: UInt64 = 0
  public var icmpBadChecksum: UInt64 = 0
  public var icmpEchoAnswered: UInt64 = 0
  public var icmpIgnored: UInt64 = 0  // other types, echo to a broadcast
  public var udpMalformed: UInt64 = 0
  public var udpBadChecksum: UInt64 = 0
  public var udpNoSocket: UInt64 = 0
  public var udpQueueFull: UInt64 = 0
  public var udpDelivered: UInt64 = 0
  public var dhcpIn: UInt64 = 0  // handed to the DHCP client (which may still ignore it)
  public var tcpSegmentsIn: UInt64 = 0
  public var tcpNotUnicast: UInt64 = 0  // TCP to a broadcast address (RFC 1122 §4.2.3.10)

  // Reassembly over time.
  public var reassemblyTimeouts: UInt64 = 0
  public var reassemblyDiscarded: UInt64 = 0  // a partial datagram given up (overlap, inconsistent, too big)

  // Sending.
  public var framesOut: UInt64 = 0
  public var transmitFailed: UInt64 = 0  // the device refused a frame
  public var arpRequestsSent: UInt64 = 0
  public var arpRepliesSent: UInt64 = 0
  public var arpQueueFull: UInt64 = 0  // datagrams dropped: no room to wait for resolution
  public var arpUnresolved: UInt64 = 0  // frames dropped: no reply after every request
  public var arpDefences: UInt64 = 0  // announcements sent to take our address back
  public var noRoute: UInt64 = 0
  public var datagramTooBig: UInt64 = 0
  public var icmpErrorsSent: UInt64 = 0
  public var icmpRateLimited: UInt64 = 0

  public init() {}

  /// The sum of the frame outcomes: equals `framesIn`.
  public var framesAccounted: UInt64 {
    ethernetMalformed &+ ethernetNotForUs &+ ethernetUnknownType &+ arpMalformed &+ arpIgnored &+ arpProcessed
      &+ arpConflicts &+ ipMalformed &+ ipBadChecksum &+ ipNotForUs &+ ipFragmentsHeld &+ ipFragmentsDropped
      &+ ipDatagramsIn
  }

  /// The sum of the datagram outcomes: equals `ipDatagramsIn + ipReassembled`.
  public var datagramsAccounted: UInt64 {
    ipUnknownProtocol &+ icmpMalformed &+ icmpBadChecksum &+ icmpEchoAnswered &+ icmpIgnored &+ udpMalformed
      &+ udpBadChecksum &+ udpNoSocket &+ udpQueueFull &+ udpDelivered &+ dhcpIn &+ tcpSegmentsIn &+ tcpNotUnicast
  }
}
