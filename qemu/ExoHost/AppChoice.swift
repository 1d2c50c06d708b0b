// One `APP[:ARG][@SLICES]` of `exo boot`: which app to boot, the argument
// its module command line carries, and optionally its slice allowance in
// place of the manifest's (to compare envs with different shares).
import SecureBindings

public struct AppChoice: Sendable, Equatable {
  public let name: String
  public let arg: String?
  public let slices: UInt64?
  /// `--held N`: loaded only when an env before it calls `env_start`.
  public var held = false

  public init(name: String, arg: String? = nil, slices: UInt64? = nil, held: Bool = false) {
    self.name = name
    self.arg = arg
    self.slices = slices
    self.held = held
  }

  /// As the user wrote it: `hello`, `fault:null` or `share:rr@3`.
  public var label: String { (arg.map { "\(name):\($0)" } ?? name) + (slices.map { "@\($0)" } ?? "") }

  /// Splits `APP[:ARG][@SLICES]` and checks ARG and SLICES; the name is
  /// checked against the catalog later.
  public static func parse(_ text: String) throws -> AppChoice {
    if let at = text.lastIndex(of: "@") {
      let count = String(text[text.index(after: at)...])
      guard let slices = UInt64(count), BootConfig.slicesRange.contains(slices) else {
        throw ExoFailure.usage(
          "bad slice count '\(count)' in '\(text)': SLICES is \(BootConfig.slicesRange.lowerBound)...\(BootConfig.slicesRange.upperBound)")
      }
      let choice = try parse(String(text[..<at]))
      return AppChoice(name: choice.name, arg: choice.arg, slices: slices)
    }
    guard let colon = text.firstIndex(of: ":") else { return AppChoice(name: text) }
    let name = String(text[..<colon])
    let arg = String(text[text.index(after: colon)...])
    guard isValidArg(arg) else {
      throw ExoFailure.usage(
        "bad argument '\(arg)' in '\(text)': an ARG is 1...\(BootConfig.maxArgLength) characters of A-Z a-z 0-9 . _ -")
    }
    return AppChoice(name: name, arg: arg)
  }

  /// The kernel splits module command lines at spaces and QEMU's -initrd at
  /// commas, so an argument keeps to characters neither treats specially.
  public static func isValidArg(_ arg: String) -> Bool {
    (1...BootConfig.maxArgLength).contains(arg.utf8.count)
      && arg.utf8.allSatisfy { byte in
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
          || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".")
          || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
      }
  }
}
