// `exo bench boot`: time to hello's first line under TCG and KVM, kernel
// instructions to it under icount, and the kernel's size.
import Foundation

public struct BootBenchResult: Sendable {
  public enum Measure: Sendable, Equatable {
    case measured(BenchStatistics)
    case unavailable(String)
  }

  public let date: Date
  public let runs: Int
  /// Milliseconds from QEMU's launch to the first `[hello:` line.
  public let tcg: BenchStatistics
  public let kvm: Measure
  /// Guest instructions from kernel entry to the first env line (one icount run).
  public let icountInstructions: UInt64
  public let kernel: KernelSize
}

public enum BootBenchmark {
  public static let app = "hello"

  public static func run(root: URL, runs: Int, progress: (String) -> Void = Output.error) throws -> BootBenchResult {
    let catalog = try AppCatalog.load(root: root)
    guard catalog.manifest(named: app) != nil else {
      throw ExoFailure("bench boot needs the app '\(app)', which is not in apps/", exitStatus: ExitStatus.config)
    }
    let qemu = try QemuInstaller.ensure(say: progress)
    let toolchain = try Toolchain.find()
    let plan = { (accel: Accel) in
      try BootPlan(root: root, catalog: catalog, apps: [AppChoice(name: app)], accel: accel)
    }
    progress("exo: bench boot: building the kernel and \(app)")
    try ImageBuilder(root: root, toolchain: toolchain).build(try plan(.tcg).modules)

    let tcg = try timedBoots(try plan(.tcg), qemu: qemu, runs: runs, progress: progress)
    let kvm: BootBenchResult.Measure
    if FileManager.default.fileExists(atPath: "/dev/kvm") {
      do {
        kvm = .measured(try timedBoots(try plan(.kvm), qemu: qemu, runs: runs, progress: progress))
      } catch let failure as ExoFailure {
        kvm = .unavailable("a KVM boot did not work (\(failure.message))")
      }
    } else {
      kvm = .unavailable("no /dev/kvm")
    }
    let instructions = try icountBoot(try plan(.icount), qemu: qemu, progress: progress)
    return BootBenchResult(
      date: Date(), runs: runs, tcg: tcg, kvm: kvm, icountInstructions: instructions,
      kernel: try KernelSize.measure(root: root, toolchain: toolchain))
  }

  /// Boots `runs` times; each sample is the time to the app's first line.
  static func timedBoots(_ plan: BootPlan, qemu: URL, runs: Int, progress: (String) -> Void) throws -> BenchStatistics {
    let accel = plan.machine.accel.displayName
    var samples: [Double] = []
    for index in 1...runs {
      var firstLine: Duration?
      let result = try plan.boot(qemu: qemu, timeout: 60) { line in
        if firstLine == nil && line.text.hasPrefix("[\(app):") { firstLine = line.elapsed }
      }
      // Only a clean boot measures anything: the app must print and exit 0.
      let verdict = result.verdict
      guard verdict.isGood, verdict.exitStatus == ExitStatus.ok, let firstLine else {
        let why = verdict.isGood && firstLine == nil ? "no line starting '[\(app):'; " + verdict.reason : verdict.reason
        throw ExoFailure("bench boot: \(accel) run \(index): \(why)", exitStatus: ExitStatus.software)
      }
      let ms = milliseconds(firstLine)
      samples.append(ms)
      progress("exo: bench boot: \(accel) run \(index)/\(runs): first env line after \(format(ms)) ms")
    }
    return BenchStatistics(samples)!
  }

  static func icountBoot(_ plan: BootPlan, qemu: URL, progress: (String) -> Void) throws -> UInt64 {
    let result = try plan.boot(qemu: qemu, timeout: 60)
    guard result.verdict.isGood, result.verdict.exitStatus == ExitStatus.ok else {
      throw ExoFailure("bench boot: icount run: \(result.verdict.reason)", exitStatus: ExitStatus.software)
    }
    guard let ticks = result.verdict.firstEnvLineTicks else {
      throw ExoFailure(
        "bench boot: icount run: the kernel printed no '[exo] boot: first env line after N tsc ticks' line",
        exitStatus: ExitStatus.software)
    }
    progress("exo: bench boot: TCG icount: first env line after \(ticks) instructions")
    return ticks
  }

  static func milliseconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) * 1000 + Double(attoseconds) / 1e15
  }

  /// Milliseconds to one decimal, as every report shows them.
  static func format(_ ms: Double) -> String { String(format: "%.1f", ms) }
}
