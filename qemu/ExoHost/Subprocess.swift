// Runs a tool to completion in the package root and collects what it printed
// (stdout and stderr together, in order), for builds and llvm-objdump.
import Foundation

struct Subprocess {
  struct Result {
    let status: Int32
    let output: String
    var succeeded: Bool { status == 0 }
  }

  static func run(_ executable: URL, _ arguments: [String], in folder: URL) throws -> Result {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.currentDirectoryURL = folder
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
    // Read before waiting: a child blocked on a full pipe would never exit.
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let status = process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
    return Result(status: status, output: String(decoding: data, as: UTF8.self))
  }
}
