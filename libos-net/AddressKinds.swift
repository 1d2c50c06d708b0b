// What kind of address a MAC or IPv4 address is: the checks every layer
// makes before it trusts a sender (RFC 1122 §3.2.1.3: never a broadcast or
// multicast source) or picks where to send (RFC 1122 §3.3.1 routing).

extension MACAddress {
  /// Group addresses, broadcast included (the I/G bit of the first byte).
  public var isMulticast: Bool { bytes.0 & 1 != 0 }
  /// A MAC a host can have: what ARP may cache.
  public var isUnicast: Bool { !isMulticast && self != .zero }
}

extension IPv4Address {
  public var isMulticast: Bool { value >> 28 == 0xe }  // 224.0.0.0/4
  public var isLoopback: Bool { value >> 24 == 127 }
  /// 240.0.0.0/4 and 255.255.255.255: never a host.
  public var isReserved: Bool { value >> 28 == 0xf }

  /// The all-ones host part of the subnet `netmask` describes (a directed broadcast).
  public func isSubnetBroadcast(netmask: IPv4Address) -> Bool {
    netmask.value != 0xffff_ffff && value & ~netmask.value == ~netmask.value
  }

  public func sameSubnet(as other: IPv4Address, netmask: IPv4Address) -> Bool {
    value & netmask.value == other.value & netmask.value
  }

  /// True for a netmask of contiguous ones (/0 to /32).
  public var isContiguousNetmask: Bool {
    let inverted = ~value
    return inverted & (inverted &+ 1) == 0
  }

  /// An address a single host may have (used for senders and DHCP leases).
  public var isHostAddress: Bool {
    value != 0 && !isMulticast && !isLoopback && !isReserved && value >> 24 != 0
  }
}
