// The kernel-call dispatcher, written against the one table in
// secure-bindings/KernelCall.swift. Each call first decodes (checks every
// argument, changes nothing, may throw), then performs (cannot fail).
import SecureBindings

enum KernelCalls {
  static func dispatch(_ env: UnsafeMutablePointer<Env>) -> AfterTrap {
    let registers = env.pointee.registers
    let a = registers.arguments
    guard let call = KernelCall(rawValue: registers.callNumber) else {
      return fail(env, .unknownCall)
    }
    switch call {
    case .consoleWrite:
      let range: UserRange
      do { range = try decodeConsoleWrite(env, buffer: a.0, length: a.1) } catch { return fail(env, error) }
      performConsoleWrite(env, range)
      return succeed(env, range.length)
    case .exit:
      KernelLine().text("env ").env(env.pointee).text(" exited: status ").signed(Int64(Int32(truncatingIfNeeded: a.0))).end()
      retire(env)
      return .gone
    case .yield:
      _ = succeed(env, 0)
      return .yield
    case .envSelf:
      return succeed(env, UInt64(env.pointee.id.raw))
    }
  }

  private static func succeed(_ env: UnsafeMutablePointer<Env>, _ value: UInt64) -> AfterTrap {
    env.pointee.registers.setResult(status: 0, value: value)
    return .resume
  }

  private static func fail(_ env: UnsafeMutablePointer<Env>, _ error: ExoError) -> AfterTrap {
    env.pointee.registers.setResult(status: error.rawValue, value: 0)
    return .resume
  }

  private static func decodeConsoleWrite(
    _ env: UnsafeMutablePointer<Env>, buffer: UInt64, length: UInt64
  ) throws(ExoError) -> UserRange {
    guard length <= KernelCall.consoleWriteLimit else { throw .badLength }
    let range = try UserRange.check(start: buffer, length: length)
    var page = range.firstPage
    for _ in 0..<range.pageCount {
      guard env.pointee.space.isUserAccessible(page, write: false) else { throw .badAddress }
      page += UserSpace.pageSize
    }
    return range
  }

  /// Reads the env's bytes through its own mapping: the env is current and
  /// decode has checked every page, so no byte read here can fault.
  private static func performConsoleWrite(_ env: UnsafeMutablePointer<Env>, _ range: UserRange) {
    guard range.length > 0 else { return }
    let bytes = UnsafeRawBufferPointer(
      start: UnsafeRawPointer(bitPattern: UInt(range.start)), count: Int(range.length))
    for byte in bytes where env.pointee.line.append(byte) {
      Console.flush(&env.pointee)
    }
  }
}
