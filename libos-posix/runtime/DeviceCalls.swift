// Device lines from the libOS's side: binding a line to this env and
// reading what the serial console's line received.
import SecureBindings
import UserArch

extension Exo {
  public static func irqBind(_ line: DeviceLine) throws(ExoError) {
    let r = exo_syscall(KernelCall.irqBind.rawValue, line.rawValue, 0, 0, 0, 0, 0)
    guard r.status == 0 else { throw ExoError(rawValue: r.status) ?? .badArgument }
  }

  /// Bytes received on the bound serial line, into `buffer`; 0 if none waited.
  public static func consoleRead(_ buffer: UnsafeMutableRawBufferPointer) throws(ExoError) -> Int {
    guard let base = buffer.baseAddress else { return 0 }
    let r = exo_syscall(
      KernelCall.consoleRead.rawValue, UInt64(UInt(bitPattern: base)), UInt64(buffer.count), 0, 0, 0, 0)
    guard r.status == 0 else { throw ExoError(rawValue: r.status) ?? .badArgument }
    return Int(r.value)
  }
}
