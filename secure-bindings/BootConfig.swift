// Parses an app's boot configuration from its Multiboot module command line.
// The bytes are untrusted: every field is bounded and checked, nothing is copied.
// A networked app also gets its own MAC and either a static IPv4 address or
// `dhcp=1`: the (MAC, address) pair its packet filters may bind, and
// optionally `filters=N`, how many packet filters it may bind at once.
// `held=1` loads nothing at boot: the env gets its id and waits until an env
// listed before it starts it (`env_start`).

/// A slice of the command line, so the result stays valid without a String.
public struct ByteSpan: Equatable, Sendable {
  public let offset: Int
  public let count: Int

  public init(offset: Int, count: Int) {
    self.offset = offset
    self.count = count
  }

  /// The span's bytes in the buffer it was parsed from.
  public func bytes(in line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: line[offset..<(offset + count)])
  }
}

public struct BootConfig: Equatable, Sendable {
  public static let maxNameLength = 15
  public static let maxArgLength = 64
  public static let maxLineLength = 1024
  public static let framesRange: ClosedRange<UInt64> = 1...65536
  public static let slicesRange: ClosedRange<UInt64> = 1...64
  /// `filters=N`: an env's packet-filter quota. Without the key a networked
  /// env may bind `defaultFilters` (the stack binds 2 or 3); at most 64, so
  /// one env can bind 64 and the kernel's table (128) still has room for the others.
  public static let filtersRange: ClosedRange<UInt64> = 1...64
  public static let defaultFilters: UInt64 = 8

  public var name: ByteSpan
  public var frames: UInt64
  public var slices: UInt64
  public var arg: ByteSpan?
  /// `mac=02:00:00:00:00:01`: the low 48 bits, first byte most significant;
  /// always unicast and locally administered.
  public var mac: UInt64?
  /// `ip=10.0.2.100`, in host order (0x0A000264); never 0.0.0.0, broadcast or multicast.
  public var ip: UInt32?
  /// `dhcp=1`: the app asks for its address itself, so it has a MAC but no `ip`.
  public var dhcp: Bool
  /// `filters=N`: the packet-filter quota; nil gives `defaultFilters`. Needs a `mac=`.
  public var filters: UInt64?
  /// `held=1`: the env waits, loaded only when `env_start` names it.
  public var held: Bool

  /// The quota the kernel enforces.
  public var filterQuota: UInt64 { filters ?? Self.defaultFilters }

  public init(
    name: ByteSpan, frames: UInt64, slices: UInt64, arg: ByteSpan? = nil, mac: UInt64? = nil, ip: UInt32? = nil,
    dhcp: Bool = false, filters: UInt64? = nil, held: Bool = false
  ) {
    self.name = name
    self.frames = frames
    self.slices = slices
    self.arg = arg
    self.mac = mac
    self.ip = ip
    self.dhcp = dhcp
    self.filters = filters
    self.held = held
  }

  /// Space-separated `key=value` tokens; a token without '=' is skipped because
  /// boot loaders put the module path first. A NUL byte ends the line.
  public static func parse(_ cmdline: UnsafeRawBufferPointer) throws(BootConfigError) -> BootConfig {
    // Looking no further than one byte past the limit bounds the work on a huge module.
    var length = 0
    while length < cmdline.count && cmdline[length] != 0 {
      if length == maxLineLength { throw .tooLong }
      length += 1
    }

    var name: ByteSpan? = nil
    var frames: UInt64? = nil
    var slices: UInt64? = nil
    var arg: ByteSpan? = nil
    var mac: UInt64? = nil
    var ip: UInt32? = nil
    var dhcp = false
    var filters: UInt64? = nil
    var held = false
    var at = 0
    while at < length {
      if cmdline[at] == space {
        at += 1
        continue
      }
      let start = at
      var equals = -1
      while at < length && cmdline[at] != space {
        if equals < 0 && cmdline[at] == UInt8(ascii: "=") { equals = at }
        at += 1
      }
      guard equals >= 0 else { continue }
      let key = ByteSpan(offset: start, count: equals - start)
      let value = ByteSpan(offset: equals + 1, count: at - equals - 1)
      switch Key(cmdline, key) {
      case .name:
        guard name == nil else { throw .duplicateKey(key) }
        guard value.count >= 1 && value.count <= maxNameLength, all(cmdline, value, isNameByte) else {
          throw .badName
        }
        name = value
      case .frames:
        guard frames == nil else { throw .duplicateKey(key) }
        frames = try number(cmdline, value, in: framesRange)
      case .slices:
        guard slices == nil else { throw .duplicateKey(key) }
        slices = try number(cmdline, value, in: slicesRange)
      case .arg:
        guard arg == nil else { throw .duplicateKey(key) }
        guard value.count >= 1 && value.count <= maxArgLength, all(cmdline, value, isArgByte) else {
          throw .badArg
        }
        arg = value
      case .mac:
        guard mac == nil else { throw .duplicateKey(key) }
        mac = try parseMAC(cmdline, value)
      case .ip:
        guard ip == nil else { throw .duplicateKey(key) }
        ip = try parseIPv4(cmdline, value)
      case .dhcp:
        guard !dhcp else { throw .duplicateKey(key) }
        guard isOne(cmdline, value) else { throw .badDHCP(value) }
        dhcp = true
      case .filters:
        guard filters == nil else { throw .duplicateKey(key) }
        filters = try number(cmdline, value, in: filtersRange)
      case .held:
        guard !held else { throw .duplicateKey(key) }
        guard isOne(cmdline, value) else { throw .badHeld(value) }
        held = true
      case .unknown:
        throw .unknownKey(key)
      }
    }

    guard let name else { throw .missingName }
    guard let frames else { throw .missingFrames }
    guard let slices else { throw .missingSlices }
    // An address is only half of a network binding; the MAC is the other half.
    if (ip != nil || dhcp) && mac == nil { throw .addressWithoutMAC }
    if ip != nil && dhcp { throw .ipAndDHCP }
    // A filter quota without a network binding would be a promise nothing can use.
    if filters != nil && mac == nil { throw .filtersWithoutMAC }
    return BootConfig(
      name: name, frames: frames, slices: slices, arg: arg, mac: mac, ip: ip, dhcp: dhcp, filters: filters,
      held: held)
  }

  /// A flag's one spelling: `1` (`key=0` would be a second way to say nothing).
  private static func isOne(_ line: UnsafeRawBufferPointer, _ value: ByteSpan) -> Bool {
    value.count == 1 && line[value.offset] == UInt8(ascii: "1")
  }

  /// `mac=`'s value, as the host checks an app.manifest with the kernel's own rules.
  public static func mac(_ text: UnsafeRawBufferPointer) throws(BootConfigError) -> UInt64 {
    try parseMAC(text, ByteSpan(offset: 0, count: text.count))
  }

  /// `ip=`'s value, as the host checks an app.manifest with the kernel's own rules.
  public static func ipv4(_ text: UnsafeRawBufferPointer) throws(BootConfigError) -> UInt32 {
    try parseIPv4(text, ByteSpan(offset: 0, count: text.count))
  }

  /// Exactly six pairs of hex digits joined by colons (17 bytes), either case.
  /// Unicast (I/G bit clear) and locally administered (U/L bit set), IEEE 802 §8.2:
  /// a group address cannot be an env's own, and a universal one belongs to some vendor's card.
  private static func parseMAC(_ line: UnsafeRawBufferPointer, _ span: ByteSpan) throws(BootConfigError) -> UInt64 {
    guard span.count == 17 else { throw .badMAC(span) }
    var value: UInt64 = 0
    for pair in 0..<6 {
      let at = span.offset + pair * 3
      if pair > 0 && line[at - 1] != UInt8(ascii: ":") { throw .badMAC(span) }
      guard let high = hexDigit(line[at]), let low = hexDigit(line[at + 1]) else { throw .badMAC(span) }
      value = value << 8 | UInt64(high << 4 | low)
    }
    let first = UInt8(truncatingIfNeeded: value >> 40)
    guard first & 0x01 == 0 else { throw .multicastMAC(span) }
    guard first & 0x02 != 0 else { throw .universalMAC(span) }
    return value
  }

  private static func hexDigit(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
    default: return nil
    }
  }

  /// Four decimal parts of 1 to 3 digits, each at most 255, joined by dots.
  /// A leading zero is refused: inet_aton(3) reads `010` as octal 8, so it
  /// would name a different host to different readers.
  private static func parseIPv4(_ line: UnsafeRawBufferPointer, _ span: ByteSpan) throws(BootConfigError) -> UInt32 {
    var value: UInt32 = 0
    var part: UInt32 = 0
    var digits = 0
    var parts = 0
    var firstDigit: UInt8 = 0
    for i in 0...span.count {
      let byte = i < span.count ? line[span.offset + i] : UInt8(ascii: ".")
      if byte == UInt8(ascii: ".") {
        guard digits > 0, parts < 4, !(digits > 1 && firstDigit == UInt8(ascii: "0")), part <= 255 else {
          throw .badIP(span)
        }
        value = value << 8 | part
        parts += 1
        part = 0
        digits = 0
        continue
      }
      guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"), digits < 3 else { throw .badIP(span) }
      if digits == 0 { firstDigit = byte }
      part = part * 10 + UInt32(byte - UInt8(ascii: "0"))
      digits += 1
    }
    guard parts == 4 else { throw .badIP(span) }
    // RFC 1122 §3.2.1.3: 0.0.0.0 means "this host" before it has an address,
    // 255.255.255.255 is the limited broadcast, and 224.0.0.0/4 (RFC 5771) are
    // groups: none can be one env's own address.
    guard value != 0, value != 0xffff_ffff, value >> 28 != 0xe else { throw .unusableIP(span) }
    return value
  }

  private static let space = UInt8(ascii: " ")

  private enum Key {
    case name, frames, slices, arg, mac, ip, dhcp, filters, held, unknown

    init(_ line: UnsafeRawBufferPointer, _ key: ByteSpan) {
      if BootConfig.equals(line, key, "name") {
        self = .name
      } else if BootConfig.equals(line, key, "frames") {
        self = .frames
      } else if BootConfig.equals(line, key, "slices") {
        self = .slices
      } else if BootConfig.equals(line, key, "arg") {
        self = .arg
      } else if BootConfig.equals(line, key, "mac") {
        self = .mac
      } else if BootConfig.equals(line, key, "ip") {
        self = .ip
      } else if BootConfig.equals(line, key, "dhcp") {
        self = .dhcp
      } else if BootConfig.equals(line, key, "filters") {
        self = .filters
      } else if BootConfig.equals(line, key, "held") {
        self = .held
      } else {
        self = .unknown
      }
    }
  }

  private static func equals(_ line: UnsafeRawBufferPointer, _ span: ByteSpan, _ word: StaticString) -> Bool {
    guard span.count == word.utf8CodeUnitCount else { return false }
    let expected = word.utf8Start
    for i in 0..<span.count where line[span.offset + i] != expected[i] { return false }
    return true
  }

  /// Decimal only: no sign, no base prefix, no empty value, and overflow is refused, not wrapped.
  private static func number(
    _ line: UnsafeRawBufferPointer, _ span: ByteSpan, in range: ClosedRange<UInt64>
  ) throws(BootConfigError) -> UInt64 {
    guard span.count > 0 else { throw .badNumber(span) }
    var value: UInt64 = 0
    for i in 0..<span.count {
      let byte = line[span.offset + i]
      guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { throw .badNumber(span) }
      let (times10, o1) = value.multipliedReportingOverflow(by: 10)
      let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
      guard !o1 && !o2 else { throw .badNumber(span) }
      value = sum
    }
    guard range.contains(value) else { throw .outOfRange(span) }
    return value
  }

  private static func all(_ line: UnsafeRawBufferPointer, _ span: ByteSpan, _ allowed: (UInt8) -> Bool) -> Bool {
    for i in 0..<span.count where !allowed(line[span.offset + i]) { return false }
    return true
  }

  /// Names appear in every console line, so they are kept to a plain, unambiguous alphabet.
  private static func isNameByte(_ byte: UInt8) -> Bool {
    (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
      || byte == UInt8(ascii: "-")
  }

  private static func isArgByte(_ byte: UInt8) -> Bool {
    (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
      || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ".")
      || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
  }
}

public enum BootConfigError: Error, Equatable, Sendable {
  case missingName
  case missingFrames
  case missingSlices
  case unknownKey(ByteSpan)
  case duplicateKey(ByteSpan)
  case badName
  case badNumber(ByteSpan)
  case outOfRange(ByteSpan)
  case badArg
  case tooLong
  case badMAC(ByteSpan)
  case multicastMAC(ByteSpan)
  case universalMAC(ByteSpan)
  case badIP(ByteSpan)
  case unusableIP(ByteSpan)
  case badDHCP(ByteSpan)
  case badHeld(ByteSpan)
  case addressWithoutMAC
  case ipAndDHCP
  case filtersWithoutMAC

  public var reason: StaticString {
    switch self {
    case .missingName: return "no name= in the module command line"
    case .missingFrames: return "no frames= in the module command line"
    case .missingSlices: return "no slices= in the module command line"
    case .unknownKey: return "unknown key in the module command line"
    case .duplicateKey: return "key given twice in the module command line"
    case .badName: return "name must be 1 to 15 of a-z 0-9 -"
    case .badNumber: return "value is not a decimal number"
    case .outOfRange: return "number out of range (frames 1-65536, slices 1-64, filters 1-64)"
    case .badArg: return "arg must be 1 to 64 of A-Z a-z 0-9 . _ -"
    case .tooLong: return "module command line longer than 1024 bytes"
    case .badMAC: return "mac must be 6 hex pairs joined by colons, like 02:00:00:00:00:01"
    case .multicastMAC: return "mac must be unicast (bit 0 of the first byte clear)"
    case .universalMAC: return "mac must be locally administered (bit 1 of the first byte set)"
    case .badIP: return "ip must be 4 decimal parts 0-255 without leading zeros, like 10.0.2.100"
    case .unusableIP: return "ip must not be 0.0.0.0, 255.255.255.255 or multicast"
    case .badDHCP: return "dhcp takes only the value 1"
    case .badHeld: return "held takes only the value 1"
    case .addressWithoutMAC: return "ip= or dhcp=1 needs a mac="
    case .ipAndDHCP: return "ip= and dhcp=1 exclude each other"
    case .filtersWithoutMAC: return "filters= needs a mac="
    }
  }
}
