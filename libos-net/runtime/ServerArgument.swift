// The boot argument read as a number, and the one servers share: `exo
// boot APP:N` makes a server exit after N seconds without a request (tests
// and benchmarks end this way); without it a server runs until the user
// stops QEMU.
import LibOSRuntime

public enum ServerArgument {
  public static func idleSeconds() -> UInt64? { number(digits: 6) }

  /// ARG as a whole decimal number of at most `digits` digits; nil otherwise.
  public static func number(digits: Int) -> UInt64? {
    let arg = App.argument
    guard arg.count > 0, arg.count <= digits else { return nil }
    var n: UInt64 = 0
    for b in arg {
      guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
      n = n * 10 + UInt64(b - UInt8(ascii: "0"))
    }
    return n
  }
}
