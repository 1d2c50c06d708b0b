// Judges a boot from what QEMU left behind: the serial lines and how QEMU
// ended. Pure, so that every kind of failure can be tested on sample logs.
import SecureBindings

/// How a QEMU run ended.
public enum QemuEnd: Sendable, Equatable {
  case exited(status: Int32)
  case signalled(Int32)
  /// exo killed it after this many seconds without an exit.
  case timedOut(seconds: Double)
  /// Its caller had exo stop it (QemuStop), as a test does with a server app.
  case stopped
}

/// What the kernel reported about one env.
public struct EnvReport: Sendable, Equatable {
  public enum End: Sendable, Equatable {
    case exited(status: Int64)
    /// `vector` is nil when the reason names no x86 exception.
    case killed(reason: String, vector: Int?)
  }

  public let name: String
  public let id: Int
  public var frames: Int?
  public var end: End?

  public init(name: String, id: Int, frames: Int? = nil, end: End? = nil) {
    self.name = name
    self.id = id
    self.frames = frames
    self.end = end
  }

  /// What `exo boot` exits with if this env decides it: nil for a clean exit.
  /// An exit status keeps its low byte (1 if that is 0); a kill gives 128 + the
  /// exception vector, like a shell's 128 + signal (1 if the reason names none).
  public var failureStatus: Int32? {
    switch end {
    case .exited(let status) where status != 0:
      let low = Int32(truncatingIfNeeded: status & 0xff)
      return low == 0 ? 1 : low
    case .killed(_, let vector):
      return vector.map { 128 + Int32($0) } ?? 1
    default:
      return nil
    }
  }
}

public struct BootVerdict: Sendable, Equatable {
  public enum Failure: Sendable, Equatable {
    case tripleFault
    case panic(lines: [String])
    case hang(seconds: Double)
    /// QEMU exited with the good status but the last kernel line is not the final one.
    case missingFinalLine(lastKernelLine: String?)
    case unexpectedStatus(Int32)
    case signalled(Int32)
    /// Stopped by its caller before it ended by itself.
    case stopped
  }

  /// nil for a good boot.
  public let failure: Failure?
  /// By id.
  public let envs: [EnvReport]
  public let framesFreeAtBoot: Int?
  public let framesFreeAtEnd: Int?
  public let framesTotalAtEnd: Int?
  public let firstEnvLineTicks: UInt64?
  /// The kernel lines of modules it would not load (`[exo] module 2 refused: ...`).
  public let refusedModules: [String]

  public var isGood: Bool { failure == nil }

  public static let goodQemuStatus = DebugExit.qemuStatus(DebugExit.allEnvsExited)
  public static let panicQemuStatus = DebugExit.qemuStatus(DebugExit.panic)

  public static func judge(lines: [String], end: QemuEnd) -> BootVerdict {
    var envs: [Int: EnvReport] = [:]
    var framesFreeAtBoot: Int?
    var final: (free: Int, total: Int)?
    var ticks: UInt64?
    var panicLines: [String] = []
    var lastKernelLine: String?
    var refused: [String] = []

    for line in lines {
      switch ConsoleLine(line) {
      case .kernel(let text):
        lastKernelLine = line
        switch KernelReport(text) {
        case .bootBanner(let free): framesFreeAtBoot = free
        case .envStarted(let name, let id, let frames):
          envs[id, default: EnvReport(name: name, id: id)].frames = frames
        case .envExited(let name, let id, let status):
          envs[id, default: EnvReport(name: name, id: id)].end = .exited(status: status)
        case .envKilled(let name, let id, let reason):
          envs[id, default: EnvReport(name: name, id: id)].end =
            .killed(reason: reason, vector: ExceptionVector.vector(inKillReason: reason))
        case .firstEnvLine(let count): ticks = count
        case .allEnvsExited(let free, let total): final = (free, total)
        case .panic: panicLines.append(line)
        case .moduleRefused: refused.append(line)
        case nil: break
        }
      case .env(let name, let id, _):
        if envs[id] == nil { envs[id] = EnvReport(name: name, id: id) }
      case .other:
        break
      }
    }

    let endedWell = lastKernelLine.map(isFinalLine) ?? false
    let failure: Failure?
    switch end {
    case .exited(let status) where status == goodQemuStatus:
      failure = endedWell ? nil : .missingFinalLine(lastKernelLine: lastKernelLine)
    case .exited(0): failure = .tripleFault
    case .exited(let status) where status == panicQemuStatus: failure = .panic(lines: panicLines)
    case .exited(let status): failure = .unexpectedStatus(status)
    case .signalled(let signal): failure = .signalled(signal)
    case .timedOut(let seconds): failure = .hang(seconds: seconds)
    case .stopped: failure = .stopped
    }

    return BootVerdict(
      failure: failure, envs: envs.values.sorted { $0.id < $1.id }, framesFreeAtBoot: framesFreeAtBoot,
      framesFreeAtEnd: final?.free, framesTotalAtEnd: final?.total, firstEnvLineTicks: ticks, refusedModules: refused)
  }

  static func isFinalLine(_ line: String) -> Bool {
    line.hasPrefix(ConsoleLine.kernelPrefix + String(describing: ConsoleWords.allEnvsExited))
  }

  /// `exo boot`'s exit status: 70 for a failed boot; else the first env (by
  /// id) that failed decides; else 0.
  public var exitStatus: Int32 {
    guard isGood else { return ExitStatus.software }
    return envs.lazy.compactMap(\.failureStatus).first ?? ExitStatus.ok
  }

  /// One line saying how the boot went.
  public var reason: String {
    switch failure {
    case nil:
      let ends = envs.map { env -> String in
        switch env.end {
        case .exited(let status): return "\(env.name):\(env.id) exited \(status)"
        case .killed(let reason, _): return "\(env.name):\(env.id) killed (\(reason))"
        case nil: return "\(env.name):\(env.id) did not report an end"
        }
      }
      let frames = framesFreeAtEnd.map { free in "frames free \(free) of \(framesTotalAtEnd ?? free)" }
      let refusals = refusedModules.map { $0.dropFirst(ConsoleLine.kernelPrefix.count) }.map(String.init)
      return "good boot: "
        + ((ends.isEmpty ? ["no envs"] : ends) + refusals + (frames.map { [$0] } ?? []))
        .joined(separator: "; ")
    case .tripleFault:
      return "failed boot: QEMU exited with status 0 (a triple fault or reset)"
    case .panic(let lines):
      return "failed boot: kernel panic" + (lines.first.map { ": \($0)" } ?? " (no PANIC line printed)")
    case .hang(let seconds):
      return "failed boot: no exit after \(formatSeconds(seconds)) s (a hang); QEMU was killed"
    case .missingFinalLine(let last):
      return "failed boot: QEMU exited with status \(Self.goodQemuStatus) but the last kernel line is "
        + (last.map { "'\($0)'" } ?? "missing") + ", not '[exo] all envs exited ...'"
    case .unexpectedStatus(let status):
      return "failed boot: QEMU exited with unexpected status \(status)"
    case .signalled(let signal):
      return "failed boot: QEMU was killed by signal \(signal)"
    case .stopped:
      return "stopped boot: QEMU was stopped before the envs ended"
    }
  }

  private func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
  }
}
