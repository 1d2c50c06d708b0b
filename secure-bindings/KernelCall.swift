// The kernel-call table: the one definition of exo's ABI. The kernel's
// dispatcher switches over `KernelCall`, the user stubs pass its raw values,
// and papers/kernel-calls.md is generated from `spec` (a test keeps it honest).
//
// Calling convention (x86_64 SYSCALL): RAX = call number, arguments in
// RDI, RSI, RDX, R10, R8, R9. On return RAX = 0 or an `ExoError` raw value,
// RDX = the call's result value. RCX and R11 are clobbered (SYSCALL uses
// them); every other register is preserved.

public enum KernelCall: UInt64, CaseIterable, Sendable {
  case consoleWrite = 0
  case exit = 1
  case yield = 2
  case envSelf = 3
}

/// One argument of a kernel call, as the reference page shows it.
public struct KernelCallArgument: Sendable {
  public let name: StaticString
  public let meaning: StaticString
}

/// What the table says about one call: the reference page is printed from this.
public struct KernelCallSpec: Sendable {
  public let name: StaticString
  public let summary: StaticString
  public let arguments: [KernelCallArgument]
  public let result: StaticString
  public let errors: [ExoError]
}

extension KernelCall {
  /// The largest buffer one `consoleWrite` takes; the user stub loops for more.
  public static let consoleWriteLimit: UInt64 = 4096

  public var spec: KernelCallSpec {
    switch self {
    case .consoleWrite:
      return KernelCallSpec(
        name: "console_write",
        summary: "Append bytes to the caller's console line; each newline emits one whole line prefixed by the env's name.",
        arguments: [
          KernelCallArgument(name: "buffer", meaning: "user address of the bytes"),
          KernelCallArgument(name: "length", meaning: "byte count, at most 4096"),
        ],
        result: "bytes taken",
        errors: [.badLength, .badAddress])
    case .exit:
      return KernelCallSpec(
        name: "exit",
        summary: "End the calling env; the kernel reports the status and returns every frame the env held.",
        arguments: [KernelCallArgument(name: "status", meaning: "exit status, reported in decimal (low 32 bits)")],
        result: "does not return",
        errors: [])
    case .yield:
      return KernelCallSpec(
        name: "yield",
        summary: "Give the rest of the slice to the next env in the slice vector.",
        arguments: [],
        result: "0",
        errors: [])
    case .envSelf:
      return KernelCallSpec(
        name: "env_self",
        summary: "Identify the caller.",
        arguments: [],
        result: "the caller's env id",
        errors: [])
    }
  }
}
