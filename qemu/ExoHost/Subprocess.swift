// Runs a tool to completion in the package root and collects what it printed
// (stdout and stderr together, in order), for builds, llvm-objdump and the
// benchmarks' load generators (which a timeout stops).
import Foundation

struct Subprocess {
  struct Result {
    let status: Int32
    let output: String
    var succeeded: Bool { status == 0 }
  }

  /// Runs `executable`; after `timeout` seconds (when given) it is terminated.
  static func run(_ executable: URL, _ arguments: [String], in folder: URL? = nil, timeout: Double? = nil) throws
    -> Result
  {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let folder { process.currentDirectoryURL = folder }
    process.standardInput = FileHandle.nullDevice
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    do {
      try process.run()
    } catch {
      throw ExoFailure(
        "cannot run \(executable.path): \(error.localizedDescription)", exitStatus: ExitStatus.unavailable)
    }
    if let timeout {
      DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { if process.isRunning { process.terminate() } }
    }
    // Read before waiting: a child blocked on a full pipe would never exit.
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let status = process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
    return Result(status: status, output: String(decoding: data, as: UTF8.self))
  }

  /// `tool` on PATH, or nil.
  static func locate(_ tool: String) -> URL? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for folder in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(folder)/\(tool)") {
      return URL(fileURLWithPath: "\(folder)/\(tool)")
    }
    return nil
  }
}
