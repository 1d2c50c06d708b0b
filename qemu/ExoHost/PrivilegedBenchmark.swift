// `exo bench privileged`: boots vmbench and cpubench (beside pct:server) in
// trace mode under icount with every executed instruction logged, and counts,
// in one timed sample of each metric, its instructions and the privileged
// ones among them, which icount counts as one each (issue 3's figures).
import Foundation

public struct PrivilegedOptions: Sendable, Equatable {
  public enum Bench: String, Sendable, CaseIterable {
    case vm, cpu
  }

  public var benches: [Bench] = Bench.allCases
  /// Keep the exec logs (in the temp folder, which is said) instead of deleting them.
  public var keepTrace = false

  public init() {}

  /// `arguments` follow `bench privileged`: `[vm|cpu]... [--keep-trace]`.
  public static func parse(_ arguments: [String]) throws -> PrivilegedOptions {
    var options = PrivilegedOptions()
    var chosen: [Bench] = []
    for argument in arguments {
      if argument == "--keep-trace" {
        options.keepTrace = true
      } else if let bench = Bench(rawValue: argument) {
        guard !chosen.contains(bench) else { throw ExoFailure.usage("bench privileged: '\(argument)' given twice") }
        chosen.append(bench)
      } else {
        throw ExoFailure.usage(
          argument.hasPrefix("-")
            ? "bench privileged: unknown option '\(argument)' (it takes vm, cpu and --keep-trace)"
            : "bench privileged: unknown benchmark '\(argument)'; they are: vm, cpu")
      }
    }
    if !chosen.isEmpty { options.benches = Bench.allCases.filter { chosen.contains($0) } }
    return options
  }
}

/// One benchmark's traced run.
public struct PrivilegedRun: Sendable {
  public let bench: String
  public let line: BenchLine
  public let metrics: [TracedMetric]
  public let qemu: String
  public let traceLines: UInt64
  public let seconds: Double
  /// Per metric whose median sample upcalls an exception handler.
  public let dispatch: [String: ExceptionDispatch]

  public init(
    bench: String, line: BenchLine, metrics: [TracedMetric], qemu: String, traceLines: UInt64, seconds: Double,
    dispatch: [String: ExceptionDispatch] = [:]
  ) {
    self.bench = bench
    self.line = line
    self.metrics = metrics
    self.qemu = qemu
    self.traceLines = traceLines
    self.seconds = seconds
    self.dispatch = dispatch
  }
}

public enum PrivilegedBenchmark {
  public static let paper = "papers/evaluation-privileged.md"
  /// A traced boot takes 10-30 s here (QEMU logs about 400,000 instructions a second).
  static let timeout = 240.0
  /// A log past this size means a guest that spins where it should have
  /// ended (about 80 bytes an instruction): QEMU is stopped.
  static let logLimit: UInt64 = 4 << 30

  public static func command(_ arguments: [String], root: URL) throws -> Int32 {
    let options = try PrivilegedOptions.parse(arguments)
    let runs = try run(root: root, options: options)
    for line in PrivilegedReport.tables(runs) + [""] + runs.map(PrivilegedReport.jsonLine) { Output.line(line) }
    if options.benches == PrivilegedOptions.Bench.allCases {
      try PrivilegedReport.paper(runs, date: Date()).write(
        to: root.appendingPathComponent(paper), atomically: true, encoding: .utf8)
      Output.error("exo: wrote \(paper)")
    } else {
      Output.error("exo: \(paper) is rewritten only when both benchmarks run")
    }
    return ExitStatus.ok
  }

  public static func run(root: URL, options: PrivilegedOptions, progress: (String) -> Void = Output.error) throws
    -> [PrivilegedRun]
  {
    let catalog = try AppCatalog.load(root: root)
    let qemu = try QemuInstaller.ensure(say: progress)
    let toolchain = try Toolchain.find()
    var plans: [(String, BootPlan)] = []
    for bench in options.benches {
      let apps: [AppChoice] =
        bench == .vm
        ? [AppChoice(name: "vmbench", arg: "icount-trace")]
        : [AppChoice(name: "cpubench", arg: "icount-trace"), AppChoice(name: "pct", arg: "server")]
      plans.append((apps[0].name, try BootPlan(root: root, catalog: catalog, apps: apps, accel: .icount)))
    }
    progress("exo: bench privileged: building the kernel and \(plans.map(\.1.appLabels).joined(separator: "; "))")
    let builder = ImageBuilder(root: root, toolchain: toolchain)
    for (_, plan) in plans { try builder.build(plan.modules) }

    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "exo-privileged-\(ProcessInfo.processInfo.processIdentifier)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer {
      if options.keepTrace {
        progress("exo: bench privileged: the exec logs are kept in \(folder.path)")
      } else {
        try? FileManager.default.removeItem(at: folder)
      }
    }
    var runs: [PrivilegedRun] = []
    for (bench, plan) in plans {
      runs.append(
        try trace(
          bench, plan: plan, qemu: qemu, toolchain: toolchain, folder: folder, keepTrace: options.keepTrace,
          progress: progress))
    }
    return runs
  }

  static func trace(
    _ bench: String, plan: BootPlan, qemu: URL, toolchain: Toolchain, folder: URL, keepTrace: Bool,
    progress: (String) -> Void
  ) throws -> PrivilegedRun {
    let log = folder.appendingPathComponent("\(bench).exec.log")
    var machine = plan.machine
    machine.extraArguments = [
      "-singlestep", "-d", "exec,nochain", "-dfilter", dfilter(slots: plan.modules.count), "-D", log.path,
    ]
    let commandLine = try machine.commandLine()
    progress("exo: bench privileged: booting \(plan.appLabels), every instruction logged (\(commandLine))")
    let clock = ContinuousClock()
    let start = clock.now
    let stop = QemuStop()
    let watch = DispatchSource.makeTimerSource(queue: DispatchQueue.global())
    watch.schedule(deadline: .now() + 1, repeating: 1)
    watch.setEventHandler {
      let size = (try? FileManager.default.attributesOfItem(atPath: log.path)[.size] as? UInt64) ?? 0
      if size > logLimit { stop.request() }
    }
    watch.resume()
    let run = try QemuSession.run(machine, qemu: qemu, in: plan.root, timeout: timeout, stop: stop)
    watch.cancel()
    if stop.isRequested {
      throw ExoFailure(
        "bench privileged: \(bench): the exec log passed \(logLimit >> 30) GiB, so QEMU was stopped "
          + "(a guest that spins instead of ending?); its last line: \(run.lines.last ?? "none")",
        exitStatus: ExitStatus.software)
    }
    let result = BootResult(run: run, verdict: BootVerdict.judge(lines: run.lines, end: run.end))
    guard result.verdict.isGood, result.verdict.exitStatus == ExitStatus.ok else {
      throw ExoFailure("bench privileged: \(bench): \(result.verdict.reason)", exitStatus: ExitStatus.software)
    }
    guard let line = BenchLine.find(in: result.lines, bench: bench) else {
      throw ExoFailure("bench privileged: \(bench) printed no JSON line", exitStatus: ExitStatus.software)
    }

    var map = InstructionMap()
    // The benchmark's own image first: its exo_bench_trace_mark is the one that marks.
    for image in plan.modules.map(\.imagePath) + [plan.machine.kernelPath] {
      let dump = try Subprocess.run(
        toolchain.objdump, ["-d", "--no-show-raw-insn", image], in: plan.root)
      guard dump.succeeded else {
        throw ExoFailure("bench privileged: llvm-objdump \(image) failed", exitStatus: ExitStatus.software)
      }
      map.add(objdump: dump.output)
    }
    guard map.symbol(containing: "exo_bench_trace_mark") != nil else {
      throw ExoFailure(
        "bench privileged: \(bench) has no one symbol named like exo_bench_trace_mark", exitStatus: ExitStatus.software)
    }
    var scanner = TraceScanner(map: map)
    try scan(log, into: &scanner)
    if !keepTrace { try? FileManager.default.removeItem(at: log) }
    let metrics = PrivilegedIntervals.metrics(points: scanner.points, names: line.metrics.map(\.name))
    let returns = scanner.points.filter { $0.what == .returnToUser }.map(\.position)
    var dispatch: [String: ExceptionDispatch] = [:]
    for metric in metrics {
      guard let sample = metric.median,
        let found = ExceptionDispatch.first(
          in: sample, kernelEntries: scanner.kernelEntries, returns: returns, handlerCalls: scanner.handlerCalls),
        found.toHandler != nil
      else { continue }
      dispatch[metric.name] = found
    }
    let seconds = BootBenchmark.milliseconds(clock.now - start) / 1000
    progress(
      "exo: bench privileged: \(bench): \(scanner.position) instructions traced, \(scanner.unknown) outside the ELFs, "
        + "\(scanner.malformed) unreadable lines, \(scanner.retracted) logged but not run (\(String(format: "%.0f", seconds)) s)")
    return PrivilegedRun(
      bench: bench, line: line, metrics: metrics, qemu: commandLine, traceLines: scanner.position, seconds: seconds,
      dispatch: dispatch)
  }

  /// Only the kernel's boot stub, the app slots and the kernel half are
  /// logged: the firmware (below 1 MiB, and SeaBIOS's copy near the top of
  /// RAM) runs millions of instructions before the kernel and is never timed.
  public static func dfilter(slots: Int) -> String {
    let appsEnd = BuildPlan.appBase(slot: max(slots, 1)) - 1
    return "0x100000..0x\(String(appsEnd, radix: 16)),0xffff800000000000..0xffffffffffffffff"
  }

  /// Reads the log a chunk at a time: it is hundreds of megabytes.
  static func scan(_ log: URL, into scanner: inout TraceScanner) throws {
    guard let handle = try? FileHandle(forReadingFrom: log) else {
      throw ExoFailure("bench privileged: QEMU wrote no exec log at \(log.path)", exitStatus: ExitStatus.software)
    }
    defer { try? handle.close() }
    while let chunk = try handle.read(upToCount: 4 << 20), !chunk.isEmpty {
      chunk.withUnsafeBytes { raw in scanner.feed(raw.bindMemory(to: UInt8.self)) }
    }
    scanner.finish()
  }
}
