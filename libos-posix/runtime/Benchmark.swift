// What every benchmark app shares: rdtsc samples reported as median and
// p99 (less the cost of an empty rdtsc pair), the accelerator named by the
// app's argument, and the one machine-readable line each benchmark ends with.
import UserArch

public struct Samples {
  public private(set) var values: [UInt64]
  /// An empty rdtsc pair, measured by `Benchmark.calibrate`.
  nonisolated(unsafe) public static var overhead: UInt64 = 0

  public init(capacity: Int) {
    values = []
    values.reserveCapacity(capacity)
  }

  public mutating func add(_ start: UInt64, _ end: UInt64) {
    let delta = end &- start
    values.append(delta > Self.overhead ? delta - Self.overhead : 0)
  }

  public mutating func add(value: UInt64) { values.append(value) }

  /// (median, p99), by nearest rank.
  public func summary() -> (median: UInt64, p99: UInt64) {
    guard !values.isEmpty else { return (0, 0) }
    if Benchmark.tracing { exo_bench_trace_mark() }
    let sorted = values.sorted()
    let p99 = min(sorted.count - 1, (sorted.count * 99 + 99) / 100 - 1)
    return (sorted[sorted.count / 2], sorted[p99])
  }
}

public enum Benchmark {
  public typealias Result = (median: UInt64, p99: UInt64)

  /// `APP:icount` under `--accel icount` counts instructions (rdtsc advances
  /// one per guest instruction); `APP:kvm` and the default count cycles.
  /// The accelerator may also be the first word of a longer argument (`netbench:icount-f64`).
  public static var accel: (name: StaticString, unit: StaticString) {
    argumentNames("icount") ? ("icount", "instructions") : argumentNames("kvm") ? ("kvm", "cycles") : ("tcg", "cycles")
  }

  /// Whether the argument is `word`, or `word` followed by `-` and the app's own options.
  static func argumentNames(_ word: StaticString) -> Bool {
    let arg = App.argument
    let n = word.utf8CodeUnitCount
    guard arg.count == n || (arg.count > n && arg[n] == UInt8(ascii: "-")) else { return false }
    for i in 0..<n where arg[i] != word.utf8Start[i] { return false }
    return true
  }

  /// `APP:icount-trace`: `exo bench privileged` records every instruction
  /// the guest runs, so the app runs each metric only a few times
  /// (`runs(_:tracing:)`) and every summary passes through
  /// `exo_bench_trace_mark`, which shows in the trace where a metric ends.
  public static var tracing: Bool {
    let arg = App.argument
    let word: StaticString = "-trace"
    let n = word.utf8CodeUnitCount
    guard arg.count >= n else { return false }
    for i in 0..<n where arg[arg.count - n + i] != word.utf8Start[i] { return false }
    return true
  }

  /// `normal` samples, or `tracing` of them when the instructions are traced.
  public static func runs(_ normal: Int, tracing few: Int) -> Int { tracing ? few : normal }

  /// Measures an empty rdtsc pair, which `Samples.add` then subtracts.
  public static func calibrate() {
    var s = Samples(capacity: 1000)
    for _ in 0..<1000 {
      let t0 = exo_rdtsc()
      let t1 = exo_rdtsc()
      s.add(t0, t1)
    }
    Samples.overhead = s.summary().median
  }

  /// The cheapest kernel call there is (env_self), `runs` times.
  public static func nullCall(runs: Int) -> Result {
    var s = Samples(capacity: runs)
    for _ in 0..<runs {
      let t0 = exo_rdtsc()
      _ = Exo.envSelf()
      let t1 = exo_rdtsc()
      s.add(t0, t1)
    }
    return s.summary()
  }

  /// `{"bench": NAME, "accel": A, "unit": U, "results": {METRIC: {"median": N, "p99": N}, ...}}`
  public static func report(_ name: StaticString, _ results: [(StaticString, Result)]) {
    let (accel, unit) = accel
    var json = "{\"bench\": \"\(name.description)\", \"accel\": \"\(accel.description)\", \"unit\": \"\(unit.description)\", \"results\": {"
    for (i, (metric, r)) in results.enumerated() {
      json += "\(i == 0 ? "" : ", ")\"\(metric.description)\": {\"median\": \(r.median), \"p99\": \(r.p99)}"
    }
    json += "}}"
    print(json)
  }
}

/// Where a metric's samples end, found by name in a trace of every executed
/// instruction (qemu/ExoHost/PrivilegedTrace.swift looks for a symbol that
/// contains this name); the store keeps the call.
@inline(never)
func exo_bench_trace_mark() {
  Benchmark.traceMarks &+= 1
}

extension Benchmark {
  nonisolated(unsafe) static var traceMarks: UInt64 = 0
}
