// The runtime's part of starting and ending an app: entry.S calls
// exo_runtime_start with what the kernel passed, then the app's @main,
// then exo_runtime_exit with its result.
import SecureBindings

public enum App {
  nonisolated(unsafe) public internal(set) static var envID = EnvID(0)
  nonisolated(unsafe) static var argumentAddress: UInt = 0
  nonisolated(unsafe) static var argumentLength = 0

  /// The `arg=` of the boot configuration (`exo boot APP:ARG`), as bytes.
  public static var argument: UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: argumentAddress), count: argumentLength)
  }

  /// Whether the boot argument equals `s` (no String comparison: that needs Unicode tables).
  public static func argumentIs(_ s: StaticString) -> Bool {
    let arg = argument
    guard arg.count == s.utf8CodeUnitCount else { return false }
    return s.withUTF8Buffer { expected in
      for i in 0..<arg.count where arg[i] != expected[i] { return false }
      return true
    }
  }
}

@_cdecl("exo_runtime_start")
func runtimeStart(_ envID: UInt64, _ argument: UInt, _ length: UInt64) {
  App.envID = EnvID(UInt16(truncatingIfNeeded: envID))
  App.argumentAddress = argument
  App.argumentLength = Int(length)
}

@_cdecl("exo_runtime_exit")
func runtimeExit(_ status: Int32) -> Never {
  Exo.exit(status)
}
