// Finds qemu-system-x86_64 on PATH, and installs it from Debian's packages
// when it is missing and exo runs as root; otherwise says the command to run.
import Foundation

public enum QemuInstaller {
  public static let installCommand = "apt-get update && apt-get install -y qemu-system-x86"

  public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL? {
    Toolchain.which(QemuMachine.executable, path: environment["PATH"] ?? "")
  }

  /// QEMU's path, installing it first where exo may.
  public static func ensure(say: (String) -> Void = Output.line) throws -> URL {
    if let qemu = locate() { return qemu }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    guard getuid() == 0, Toolchain.which("apt-get", path: path) != nil else {
      throw missing()
    }
    say("exo: QEMU is missing; installing it with: \(installCommand)")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", installCommand]
    process.standardInput = FileHandle.nullDevice
    // No debconf questions: stdin is closed.
    process.environment = ProcessInfo.processInfo.environment.merging(["DEBIAN_FRONTEND": "noninteractive"]) { $1 }
    // apt's progress is for the user; keep stdout for the boot's own output.
    process.standardOutput = FileHandle.standardError
    process.standardError = FileHandle.standardError
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0, let qemu = locate() else {
      let status = process.terminationStatus
      throw missing(
        after: status == 0 ? "apt-get installed it, yet it is not on PATH" : "installing it failed (status \(status))")
    }
    return qemu
  }

  static func missing(after attempt: String? = nil) -> ExoFailure {
    ExoFailure(
      "QEMU is missing" + (attempt.map { "; \($0)" } ?? "")
        + "; install it with: sudo apt-get install -y qemu-system-x86",
      exitStatus: ExitStatus.unavailable)
  }
}
