// One `APP[:ARG]` of `exo boot`: which app to boot and the argument its
// module command line carries.
import SecureBindings

public struct AppChoice: Sendable, Equatable {
  public let name: String
  public let arg: String?

  public init(name: String, arg: String? = nil) {
    self.name = name
    self.arg = arg
  }

  /// As the user wrote it: `hello` or `fault:null`.
  public var label: String { arg.map { "\(name):\($0)" } ?? name }

  /// Splits `APP[:ARG]` and checks ARG; the name is checked against the catalog later.
  public static func parse(_ text: String) throws -> AppChoice {
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
