// Finds the tools a build needs: `swift` from PATH, and `ld.lld` and
// `llvm-objdump` from the same toolchain folder, so the linker matches the compiler.
import Foundation

public struct Toolchain: Sendable, Equatable {
  public let swift: URL
  public let linker: URL
  public let objdump: URL

  /// Where the toolchain sits on a fresh machine of this kind when PATH lacks it.
  public static let fallbackFolder = "/opt/swift/usr/bin"

  public static func find(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Toolchain {
    let path = environment["PATH"] ?? ""
    guard let swift = which("swift", path: path) ?? which("swift", path: fallbackFolder) else {
      throw ExoFailure(
        "cannot find 'swift' on PATH or in \(fallbackFolder)", exitStatus: ExitStatus.unavailable)
    }
    let folder = swift.resolvingSymlinksInPath().deletingLastPathComponent()
    let linker = folder.appendingPathComponent("ld.lld")
    let objdump = folder.appendingPathComponent("llvm-objdump")
    for tool in [linker, objdump] where !FileManager.default.isExecutableFile(atPath: tool.path) {
      throw ExoFailure(
        "cannot find \(tool.lastPathComponent) next to swift in \(folder.path)", exitStatus: ExitStatus.unavailable)
    }
    return Toolchain(swift: swift, linker: linker, objdump: objdump)
  }

  /// The first executable called `name` in a colon-separated search path.
  public static func which(_ name: String, path: String) -> URL? {
    for folder in path.split(separator: ":") where !folder.isEmpty {
      let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent(name)
      if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    return nil
  }
}
