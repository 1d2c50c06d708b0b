// The user-side kernel-call stubs, written against the one table in
// secure-bindings/KernelCall.swift: every number comes from `KernelCall`.
@_exported import SecureBindings
import UserArch

public enum Exo {
  /// Raw access for tests of the kernel's argument checks: any number, any arguments.
  public static func rawCall(
    _ number: UInt64, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0,
    _ a3: UInt64 = 0, _ a4: UInt64 = 0, _ a5: UInt64 = 0
  ) -> (status: UInt64, value: UInt64) {
    let r = exo_syscall(number, a0, a1, a2, a3, a4, a5)
    return (r.status, r.value)
  }

  @inline(__always)
  static func call(_ call: KernelCall, _ a0: UInt64 = 0, _ a1: UInt64 = 0) throws(ExoError) -> UInt64 {
    let r = exo_syscall(call.rawValue, a0, a1, 0, 0, 0, 0)
    guard r.status == 0 else { throw ExoError(rawValue: r.status) ?? .badArgument }
    return r.value
  }

  /// Writes bytes to this env's console line, in pieces the kernel accepts.
  public static func consoleWrite(_ bytes: UnsafeRawBufferPointer) throws(ExoError) {
    var offset = 0
    while offset < bytes.count {
      let piece = min(bytes.count - offset, Int(KernelCall.consoleWriteLimit))
      let address = UInt64(UInt(bitPattern: bytes.baseAddress! + offset))
      offset += Int(try call(.consoleWrite, address, UInt64(piece)))
    }
  }

  public static func exit(_ status: Int32) -> Never {
    Console.flush()
    _ = try? call(.exit, UInt64(UInt32(bitPattern: status)))
    while true {}  // not reached: the kernel never returns from exit
  }

  public static func yield() {
    Console.flush()
    _ = try? call(.yield)
  }

  public static func envSelf() -> EnvID {
    EnvID(UInt16(truncatingIfNeeded: (try? call(.envSelf)) ?? 0))
  }
}
