// `exo bench vm`: boots vmbench under icount (guest instructions) and under
// KVM (cycles) when it works, and reads the JSON line each boot prints.
import Foundation

/// One benchmark app's JSON line: `{"bench": NAME, "accel": A, "unit": U, "results": {METRIC: {"median": N, "p99": N}}}`
/// (vmbench's and netbench's).
public typealias VMBenchLine = BenchLine

public struct BenchLine: Sendable, Equatable {
  public struct Metric: Sendable, Equatable {
    public let name: String
    public let median: UInt64
    public let p99: UInt64

    public init(name: String, median: UInt64, p99: UInt64) {
      self.name = name
      self.median = median
      self.p99 = p99
    }
  }

  /// The line as the app printed it, without the console prefix.
  public let json: String
  public let bench: String
  public let accel: String
  public let unit: String
  /// In the order the app printed them.
  public let metrics: [Metric]

  public func metric(_ name: String) -> Metric? { metrics.first { $0.name == name } }

  /// Reads the JSON text of `bench`'s line; nil for anything else.
  public init?(json: String, bench: String = VMBenchmark.app) {
    guard json.hasPrefix("{"),
      let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
      object["bench"] as? String == bench,
      let accel = object["accel"] as? String, let unit = object["unit"] as? String,
      let results = object["results"] as? [String: Any]
    else { return nil }
    var metrics: [Metric] = []
    for (name, value) in results {
      guard let figures = value as? [String: Any], let median = Self.count(figures["median"]),
        let p99 = Self.count(figures["p99"])
      else { return nil }
      metrics.append(Metric(name: name, median: median, p99: p99))
    }
    // JSONSerialization forgets the order; the text still has it.
    func position(_ name: String) -> String.Index { json.range(of: "\"\(name)\":")?.lowerBound ?? json.endIndex }
    metrics.sort { (position($0.name), $0.name) < (position($1.name), $1.name) }
    self.json = json
    self.bench = bench
    self.accel = accel
    self.unit = unit
    self.metrics = metrics
  }

  /// Reads a serial line of the app `bench`: `[vmbench:1] {"bench": "vmbench", ...}`.
  public init?(consoleLine: String, bench: String = VMBenchmark.app) {
    guard case .env(let name, _, let text) = ConsoleLine(consoleLine), name == bench else { return nil }
    self.init(json: text, bench: bench)
  }

  /// The last JSON line of `bench` among a boot's serial lines.
  public static func find(in lines: [String], bench: String = VMBenchmark.app) -> BenchLine? {
    lines.reversed().lazy.compactMap { BenchLine(consoleLine: $0, bench: bench) }.first
  }

  /// A whole, non-negative JSON number. (`is Bool` would also take 0 and 1:
  /// Foundation bridges them both ways; its type code tells them apart.)
  static func count(_ value: Any?) -> UInt64? {
    guard let number = value as? NSNumber else { return nil }
    switch String(cString: number.objCType) {
    case "S", "I", "L", "Q": return number.uint64Value
    case "s", "i", "l", "q": return number.int64Value >= 0 ? UInt64(number.int64Value) : nil
    default: return nil  // "c" a boolean, "d" a fraction
    }
  }
}

public struct VMBenchResult: Sendable {
  public enum Measure: Sendable, Equatable {
    case measured(VMBenchLine)
    case unavailable(String)
  }

  public let date: Date
  /// `vmbench:icount` under `--accel icount`: guest instructions.
  public let icount: VMBenchLine
  /// `vmbench:kvm` under `--accel kvm`: guest TSC cycles.
  public let kvm: Measure
  /// The QEMU command lines the two boots ran.
  public let icountQemu: String
  public let kvmQemu: String

  public init(date: Date, icount: VMBenchLine, kvm: Measure, icountQemu: String, kvmQemu: String) {
    self.date = date
    self.icount = icount
    self.kvm = kvm
    self.icountQemu = icountQemu
    self.kvmQemu = kvmQemu
  }
}

public enum VMBenchmark {
  public static let app = "vmbench"
  /// Generous: a vmbench boot takes about 15 s under icount and 25 s under this machine's KVM.
  static let timeout = 180.0

  /// `exo bench vm` (`arguments` follow the word `vm`).
  public static func command(_ arguments: [String], root: URL) throws -> Int32 {
    guard arguments.isEmpty else { throw ExoFailure.usage("bench vm takes no options") }
    let result = try run(root: root)
    for line in VMBenchReport.table(result) { Output.line(line) }
    try VMBenchReport.write(result, root: root)
    Output.error("exo: wrote \(VMBenchReport.paper)")
    return ExitStatus.ok
  }

  public static func run(root: URL, progress: (String) -> Void = Output.error) throws -> VMBenchResult {
    let catalog = try AppCatalog.load(root: root)
    guard catalog.manifest(named: app) != nil else {
      throw ExoFailure("bench vm needs the app '\(app)', which is not in apps/", exitStatus: ExitStatus.config)
    }
    let qemu = try QemuInstaller.ensure(say: progress)
    let toolchain = try Toolchain.find()
    let plan = { (accel: Accel, arg: String) in
      try BootPlan(root: root, catalog: catalog, apps: [AppChoice(name: app, arg: arg)], accel: accel)
    }
    let icountPlan = try plan(.icount, "icount")
    let kvmPlan = try plan(.kvm, "kvm")
    progress("exo: bench vm: building the kernel and \(app)")
    try ImageBuilder(root: root, toolchain: toolchain).build(icountPlan.modules)

    let icount = try boot(icountPlan, qemu: qemu, progress: progress)
    let kvm: VMBenchResult.Measure
    if let why = kvmUnavailable() {
      kvm = .unavailable(why)
    } else {
      progress(
        "exo: bench vm: KVM here is a nested software hypervisor that emulates all ring-0 code: "
          + "this boot takes about 25 s")
      do {
        kvm = .measured(try boot(kvmPlan, qemu: qemu, progress: progress))
      } catch let failure as ExoFailure {
        kvm = .unavailable("the KVM boot did not work (\(failure.message))")
      } catch {
        kvm = .unavailable("the KVM boot did not work (\(error))")
      }
    }
    if case .unavailable(let why) = kvm { progress("exo: bench vm: skipping KVM: \(why)") }
    return VMBenchResult(
      date: Date(), icount: icount, kvm: kvm, icountQemu: try icountPlan.machine.commandLine(),
      kvmQemu: try kvmPlan.machine.commandLine())
  }

  /// Why KVM cannot run here, or nil when /dev/kvm opens.
  public static func kvmUnavailable() -> String? {
    guard FileManager.default.fileExists(atPath: "/dev/kvm") else { return "no /dev/kvm" }
    let fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)
    guard fd >= 0 else { return "cannot open /dev/kvm (\(String(cString: strerror(errno))))" }
    close(fd)
    return nil
  }

  static func boot(_ plan: BootPlan, qemu: URL, progress: (String) -> Void) throws -> VMBenchLine {
    let accel = plan.machine.accel.displayName
    progress("exo: bench vm: booting \(plan.appLabels) under \(accel) (\(try plan.machine.commandLine()))")
    let clock = ContinuousClock()
    let start = clock.now
    let result = try plan.boot(qemu: qemu, timeout: timeout)
    guard result.verdict.isGood, result.verdict.exitStatus == ExitStatus.ok else {
      throw ExoFailure("bench vm: \(accel) run: \(result.verdict.reason)", exitStatus: ExitStatus.software)
    }
    guard let line = VMBenchLine.find(in: result.lines) else {
      let unread = result.lines.last { $0.hasPrefix("[\(app):") && $0.contains("{") }
      throw ExoFailure(
        "bench vm: \(accel) run: no '[\(app):N] {\"bench\": \"\(app)\", ...}' line"
          + (unread.map { " that reads; the last was: \($0)" } ?? ""), exitStatus: ExitStatus.software)
    }
    let seconds = BootBenchmark.milliseconds(clock.now - start) / 1000
    progress("exo: bench vm: \(accel): \(line.metrics.count) metrics in \(line.unit) (\(String(format: "%.1f", seconds)) s)")
    return line
  }
}
