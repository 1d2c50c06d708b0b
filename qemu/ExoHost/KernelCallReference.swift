// Renders papers/kernel-calls.md from the kernel-call table, so the
// reference cannot drift from the ABI (a test compares the committed page).
import SecureBindings

public enum KernelCallReference {
  public static let path = "papers/kernel-calls.md"

  public static func markdown() -> String {
    var out = """
      # exo kernel calls

      Generated from `secure-bindings/KernelCall.swift` by `swift run exo abi`; do not edit.

      Calling convention (x86_64 `SYSCALL`): RAX = call number, arguments in RDI, RSI, RDX, R10, R8, R9.
      On return RAX = 0 or an error code, RDX = the result. RCX and R11 are clobbered; every other register is preserved.

      | number | call | arguments | result | errors |
      |---|---|---|---|---|

      """
    for call in KernelCall.allCases {
      let spec = call.spec
      let arguments = spec.arguments.isEmpty
        ? "none" : spec.arguments.map { "`\($0.name)`: \($0.meaning)" }.joined(separator: "; ")
      let errors = spec.errors.isEmpty ? "none" : spec.errors.map { "`\($0.name)`" }.joined(separator: ", ")
      out += "| \(call.rawValue) | `\(spec.name)` | \(arguments) | \(spec.result) | \(errors) |\n"
    }
    out += "\n"
    for call in KernelCall.allCases {
      out += "- `\(call.spec.name)`: \(call.spec.summary)\n"
    }
    out += "\n## Errors\n\n| code | name | meaning |\n|---|---|---|\n"
    for error in ExoError.allCases {
      out += "| \(error.rawValue) | `\(error.name)` | \(error.meaning) |\n"
    }
    out += "\nAn unknown call number returns `unknown_call`; a call never faults the kernel.\n"
    return out
  }
}
