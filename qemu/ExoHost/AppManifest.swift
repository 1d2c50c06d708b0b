// An app's boot configuration (apps/NAME/app.manifest): `key = value` lines
// naming the app, its frame quota and slice count, a summary for `exo list`,
// and for a networked app its MAC and IPv4 address (`mac`, `ip`) and
// optionally its packet-filter quota (`filters`).
import SecureBindings

public struct AppManifest: Sendable, Equatable {
  public let name: String
  public let frames: Int
  public let slices: Int
  public let summary: String
  /// nil: the app has no network identity, and a boot of only such apps has no NIC.
  public let network: AppNetwork?
  /// `filters = N`: how many packet filters the env may bind; nil leaves the
  /// kernel's default (BootConfig.defaultFilters). Only with a `mac`.
  public let filters: Int?

  // The kernel's limits (BootConfig), so that the host refuses what the kernel would.
  public static let framesRange = Int(BootConfig.framesRange.lowerBound)...Int(BootConfig.framesRange.upperBound)
  public static let slicesRange = Int(BootConfig.slicesRange.lowerBound)...Int(BootConfig.slicesRange.upperBound)
  public static let filtersRange = Int(BootConfig.filtersRange.lowerBound)...Int(BootConfig.filtersRange.upperBound)

  public init(
    name: String, frames: Int, slices: Int, summary: String = "", network: AppNetwork? = nil, filters: Int? = nil
  ) {
    self.name = name
    self.frames = frames
    self.slices = slices
    self.summary = summary
    self.network = network
    self.filters = filters
  }

  /// Parses a manifest's text. `file` names it in errors; `folder` is the
  /// name of the app folder, which the `name` key must equal.
  public static func parse(_ text: String, file: String, folder: String) throws(ManifestError) -> AppManifest {
    var values: [String: (value: String, line: Int)] = [:]
    for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = index + 1
      let content = rawLine.trimmingWhitespace()
      if content.isEmpty || content.hasPrefix("#") { continue }
      guard let equals = content.firstIndex(of: "=") else {
        throw ManifestError(file: file, line: line, message: "expected 'key = value', found '\(content)'")
      }
      let key = content[..<equals].trimmingWhitespace()
      let value = content[content.index(after: equals)...].trimmingWhitespace()
      guard ["name", "frames", "slices", "summary", "mac", "ip", "filters"].contains(key) else {
        throw ManifestError(
          file: file, line: line,
          message: "unknown key '\(key)' (the keys are name, frames, slices, summary, mac, ip, filters)")
      }
      if let earlier = values[key] {
        throw ManifestError(file: file, line: line, message: "'\(key)' is set twice (first on line \(earlier.line))")
      }
      values[key] = (value, line)
    }

    func required(_ key: String) throws(ManifestError) -> (value: String, line: Int) {
      guard let entry = values[key] else {
        throw ManifestError(file: file, line: nil, message: "missing key '\(key)'")
      }
      return entry
    }
    func number(_ key: String, in range: ClosedRange<Int>) throws(ManifestError) -> Int {
      let entry = try required(key)
      guard let number = Int(entry.value), range.contains(number) else {
        throw ManifestError(
          file: file, line: entry.line,
          message: "\(key) must be a whole number in \(range.lowerBound)...\(range.upperBound), found '\(entry.value)'")
      }
      return number
    }

    let name = try required("name")
    guard name.value == folder else {
      throw ManifestError(
        file: file, line: name.line, message: "name '\(name.value)' must equal the app's folder name '\(folder)'")
    }
    guard isValidName(name.value) else {
      throw ManifestError(
        file: file, line: name.line,
        message: "name '\(name.value)' must be 1...\(BootConfig.maxNameLength) characters of a-z 0-9 -")
    }
    let network = try network(values, file: file)
    var filters: Int?
    if let entry = values["filters"] {
      guard network != nil else {
        throw ManifestError(file: file, line: entry.line, message: "filters needs a mac (it is a network quota)")
      }
      filters = try number("filters", in: filtersRange)
    }
    return AppManifest(
      name: name.value,
      frames: try number("frames", in: framesRange),
      slices: try number("slices", in: slicesRange),
      summary: values["summary"]?.value ?? "",
      network: network, filters: filters)
  }

  /// `mac = 02:00:00:00:00:01` with `ip = 10.0.2.100`, `ip = dhcp`, or no ip
  /// (raw frames only); an ip without a mac is half a binding.
  private static func network(
    _ values: [String: (value: String, line: Int)], file: String
  ) throws(ManifestError) -> AppNetwork? {
    guard let mac = values["mac"] else {
      if let ip = values["ip"] { throw ManifestError(file: file, line: ip.line, message: "ip needs a mac as well") }
      return nil
    }
    var network: AppNetwork
    do {
      network = AppNetwork(mac: try AppNetwork.parse(mac: mac.value))
    } catch {
      throw ManifestError(file: file, line: mac.line, message: "\(error.reason), found '\(mac.value)'")
    }
    guard let ip = values["ip"] else { return network }
    if ip.value == "dhcp" {
      network.address = .dhcp
      return network
    }
    let address: UInt32
    do {
      address = try AppNetwork.parse(ip: ip.value)
    } catch {
      throw ManifestError(file: file, line: ip.line, message: "\(error.reason) (or dhcp), found '\(ip.value)'")
    }
    if let refusal = UserNetwork.refusal(of: address) {
      throw ManifestError(file: file, line: ip.line, message: "ip \(refusal); use 10.0.2.100 onward")
    }
    network.address = .fixed(address)
    return network
  }

  /// As the kernel's BootConfig takes them (names head every console line);
  /// they are also safe in image paths and QEMU's -initrd list.
  public static func isValidName(_ name: String) -> Bool {
    (1...BootConfig.maxNameLength).contains(name.utf8.count)
      && name.utf8.allSatisfy { byte in
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
          || byte == UInt8(ascii: "-")
      }
  }
}

/// A manifest that cannot be used, with the file and (where there is one) the line to fix.
public struct ManifestError: Error, Equatable, CustomStringConvertible {
  public let file: String
  public let line: Int?
  public let message: String

  public var description: String {
    if let line { return "\(file):\(line): \(message)" }
    return "\(file): \(message)"
  }
}

extension StringProtocol {
  func trimmingWhitespace() -> String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
    guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
      return ""
    }
    return String(self[first...last])
  }
}
