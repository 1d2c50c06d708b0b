// A networked app's identity on the guest network: its own MAC and a static
// IPv4 address, DHCP, or no address at all (raw frames only). Parsed with the
// kernel's BootConfig rules, written in the usual notation, and checked against
// QEMU's user network, where a static address must stay clear of the gateway,
// the DNS server and the DHCP pool.
import SecureBindings

public struct AppNetwork: Sendable, Equatable {
  public enum Address: Sendable, Equatable {
    /// A MAC only: the app speaks raw Ethernet (or ARP) and holds no IPv4 address.
    case none
    case fixed(UInt32)
    /// The app asks QEMU's DHCP server (`ip = dhcp` in the manifest, `dhcp=1` on the command line).
    case dhcp
  }

  /// The low 48 bits, first byte most significant, as BootConfig stores it.
  public var mac: UInt64
  public var address: Address

  public init(mac: UInt64, address: Address = .none) {
    self.mac = mac
    self.address = address
  }

  /// The static address, which port forwards need (QEMU fixes a hostfwd's guest address when it starts).
  public var ip: UInt32? {
    if case .fixed(let ip) = address { return ip }
    return nil
  }

  /// The keys BootConfig parses: `mac=02:00:00:00:00:01 ip=10.0.2.100` or `... dhcp=1`.
  public var commandLineKeys: String {
    switch address {
    case .none: return "mac=\(Self.text(mac: mac))"
    case .fixed(let ip): return "mac=\(Self.text(mac: mac)) ip=\(Self.text(ip: ip))"
    case .dhcp: return "mac=\(Self.text(mac: mac)) dhcp=1"
    }
  }

  /// `mac 02:00:00:00:00:01 ip 10.0.2.100`, for the boot's header lines.
  public var label: String {
    switch address {
    case .none: return "mac \(Self.text(mac: mac)), no ip"
    case .fixed(let ip): return "mac \(Self.text(mac: mac)) ip \(Self.text(ip: ip))"
    case .dhcp: return "mac \(Self.text(mac: mac)) ip by dhcp"
    }
  }

  /// The `n`th repeat of an app in one boot (n ≥ 1) adds n to the MAC's last
  /// byte and to the address's last part; nil when that would carry out of them.
  public func repeated(_ n: Int) -> AppNetwork? {
    guard n >= 0, (mac & 0xff) + UInt64(n) <= 0xff else { return nil }
    var next = AppNetwork(mac: mac + UInt64(n), address: address)
    if case .fixed(let ip) = address {
      guard (ip & 0xff) + UInt32(n) <= 0xff else { return nil }
      next.address = .fixed(ip + UInt32(n))
    }
    return next
  }

  // MARK: text

  /// The kernel's own rules (BootConfig): six hex pairs, unicast, locally administered.
  public static func parse(mac text: String) throws(BootConfigError) -> UInt64 {
    try Array(text.utf8).withUnsafeBytes { buffer in
      Result { () throws(BootConfigError) in try BootConfig.mac(buffer) }
    }.get()
  }

  /// The kernel's own rules (BootConfig): a dotted quad, not 0.0.0.0, broadcast or multicast.
  public static func parse(ip text: String) throws(BootConfigError) -> UInt32 {
    try Array(text.utf8).withUnsafeBytes { buffer in
      Result { () throws(BootConfigError) in try BootConfig.ipv4(buffer) }
    }.get()
  }

  /// `02:00:00:00:00:01`
  public static func text(mac: UInt64) -> String {
    (0..<6).map { i in
      let byte = UInt8(truncatingIfNeeded: mac >> UInt64(8 * (5 - i)))
      return (byte < 16 ? "0" : "") + String(byte, radix: 16)
    }.joined(separator: ":")
  }

  /// `10.0.2.100`
  public static func text(ip: UInt32) -> String {
    (0..<4).map { i in String(UInt8(truncatingIfNeeded: ip >> UInt32(8 * (3 - i)))) }.joined(separator: ".")
  }
}

/// QEMU's user network (libslirp) as exo uses it: 10.0.2.0/24 with the
/// gateway at .2, DNS at .3 and a DHCP pool of 16 leases from .15.
public enum UserNetwork {
  public static let net = "10.0.2.0/24"
  static let prefix: UInt32 = 0x0A00_0200
  static let gateway: UInt32 = 2
  static let dns: UInt32 = 3
  public static let dhcpPool: ClosedRange<UInt32> = 15...30

  /// Why `ip` cannot be an app's static address on this network, or nil when it can.
  public static func refusal(of ip: UInt32) -> String? {
    let host = ip & 0xff
    let shown = AppNetwork.text(ip: ip)
    if ip & 0xffff_ff00 != prefix { return "\(shown) is not on QEMU's user network \(net)" }
    if host == 0 || host == 255 { return "\(shown) is the network's own or broadcast address" }
    if host == gateway { return "\(shown) is QEMU's gateway" }
    if host == dns { return "\(shown) is QEMU's DNS server" }
    if dhcpPool.contains(host) {
      return
        "\(shown) is in QEMU's DHCP pool 10.0.2.\(dhcpPool.lowerBound)-10.0.2.\(dhcpPool.upperBound), which leases it to others"
    }
    return nil
  }
}
