// Finds each metric's timed samples among a trace's timing points: the app
// (booted with `-trace`) passes through `exo_bench_trace_mark` at every
// summary, so the points between two marks belong to one metric (its
// calibration comes first); inside them a sample runs from the `rdtsc` of
// its start site to the next `rdtsc` of its end site.

/// One timed sample, counted from the trace.
public struct TracedSample: Sendable, Equatable {
  /// Instructions executed strictly between the two `rdtsc`s.
  public let instructions: UInt64
  /// Per kind, like `InstructionKind.allCases`, the end `rdtsc` itself not included.
  public let counts: [UInt64]
  public let unknown: UInt64
  /// The trace positions of the two `rdtsc`s.
  public let start: UInt64
  public let end: UInt64

  public init(from start: TracePoint, to end: TracePoint) {
    self.start = start.position
    self.end = end.position
    instructions = end.position &- start.position &- 1
    // The start's own rdtsc is in `end.counts` but not in `start.counts`.
    var counts = zip(end.counts, start.counts).map { $0 &- $1 }
    let rdtsc = TraceScanner.index(.rdtsc)
    if counts[rdtsc] > 0 { counts[rdtsc] -= 1 }
    self.counts = counts
    unknown = end.unknown &- start.unknown
  }

  public func count(_ kind: InstructionKind) -> UInt64 { counts[TraceScanner.index(kind)] }
}

/// A metric's samples in the trace, and the one reported (the median by instructions).
public struct TracedMetric: Sendable, Equatable {
  public let name: String
  public let samples: [TracedSample]
  /// How the samples were told apart (said in the report).
  public let how: String

  public init(name: String, samples: [TracedSample], how: String) {
    self.name = name
    self.samples = samples
    self.how = how
  }

  public var median: TracedSample? {
    samples.isEmpty ? nil : samples.sorted { $0.instructions < $1.instructions }[samples.count / 2]
  }
}

public enum PrivilegedIntervals {
  /// Splits `points` at marks: phase 0 ends at the calibration's summary,
  /// phase k+1 at metric k's. `metrics` come from the app's JSON line, in order.
  public static func metrics(points: [TracePoint], names: [String]) -> [TracedMetric] {
    var phases: [[TracePoint]] = [[]]
    for point in points {
      if point.what == .mark { phases.append([]) } else { phases[phases.count - 1].append(point) }
    }
    // Phase 0 is the calibration; a metric's phase is the one its mark closes.
    var result: [TracedMetric] = []
    var leftoverSites: [[(TracePoint, TracePoint)]] = []
    for (k, name) in names.enumerated() {
      let phase = k + 1 < phases.count ? phases[k + 1] : []
      let groups = timedGroups(phase)
      if let first = groups.first {
        result.append(TracedMetric(name: name, samples: first.map { TracedSample(from: $0.0, to: $0.1) }, how: "rdtsc pair"))
        leftoverSites = Array(groups.dropFirst())
      } else if !leftoverSites.isEmpty {
        // Two metrics whose summaries come together (cpubench's PCT pair):
        // the second loop sits in the first one's phase.
        let next = leftoverSites.removeFirst()
        result.append(TracedMetric(name: name, samples: next.map { TracedSample(from: $0.0, to: $0.1) }, how: "rdtsc pair"))
      } else if let interrupted = interruptSamples(phase), !interrupted.isEmpty {
        result.append(
          TracedMetric(
            name: name, samples: interrupted.map { TracedSample(from: $0.0, to: $0.1) },
            how: "kernel entry rdtsc to handler rdtsc"))
      } else {
        result.append(TracedMetric(name: name, samples: [], how: "not found"))
      }
    }
    return result
  }

  /// Pairs of consecutive user-mode `rdtsc`s at two different sites, grouped
  /// by site pair in order of first appearance; a group seen once, or the
  /// reverse of an earlier group (a loop's way back to its start), is not a
  /// timed loop.
  static func timedGroups(_ phase: [TracePoint]) -> [[(TracePoint, TracePoint)]] {
    let user = phase.filter { $0.what == .rdtsc && !$0.isKernel }
    var order: [Pair] = []
    var groups: [Pair: [(TracePoint, TracePoint)]] = [:]
    for (a, b) in zip(user, user.dropFirst()) where a.pc != b.pc {
      let key = Pair(start: a.pc, end: b.pc)
      if groups[key] == nil { order.append(key) }
      groups[key, default: []].append((a, b))
    }
    var kept: [Pair] = []
    for key in order where (groups[key]?.count ?? 0) >= 2 {
      if kept.contains(Pair(start: key.end, end: key.start)) { continue }
      kept.append(key)
    }
    return kept.compactMap { groups[$0] }
  }

  struct Pair: Hashable {
    let start: UInt64
    let end: UInt64
  }

  /// A handler's `rdtsc` that repeats at one site with no partner site
  /// (cpubench's event latency): its start is the kernel's stamp at the
  /// interrupt's entry, the first kernel `rdtsc` of the kernel visit that
  /// ended in the upcall (after the return to user before that visit; a
  /// slice's end may have entered the kernel in between). The first run is
  /// left out: it follows the timer's arming, not an interrupt.
  static func interruptSamples(_ phase: [TracePoint]) -> [(TracePoint, TracePoint)]? {
    let user = phase.filter { $0.what == .rdtsc && !$0.isKernel }
    var sites: [UInt64: Int] = [:]
    for point in user { sites[point.pc, default: 0] += 1 }
    guard let handler = sites.filter({ $0.value >= 2 }).max(by: { ($0.value, $0.key) < ($1.value, $1.key) })?.key
    else { return nil }
    var samples: [(TracePoint, TracePoint)] = []
    var visitStamp: TracePoint? = nil  // the first kernel rdtsc since the last return to user
    var upcallStamp: TracePoint? = nil  // the stamp of the visit that ended last
    var seenHandler = false
    for point in phase {
      switch point.what {
      case .returnToUser:
        upcallStamp = visitStamp
        visitStamp = nil
      case .rdtsc where point.isKernel:
        if visitStamp == nil { visitStamp = point }
      case .rdtsc where point.pc == handler:
        if seenHandler, let start = upcallStamp { samples.append((start, point)) }
        seenHandler = true
        upcallStamp = nil
      default: break
      }
    }
    return samples
  }
}

/// Exception dispatch in one sample, counted in the trace [Engler95:
/// "exception dispatch in 18 instructions"]: from the instruction that
/// faulted (counted once, as icount counts it) to the first instruction of
/// the upcall's target (not counted).
public struct ExceptionDispatch: Sendable, Equatable {
  /// To the first instruction of the env's registered entry: the kernel's part.
  public let toEntry: UInt64
  /// To the first instruction of the vector's handler in the app, past the
  /// libOS's entry; nil when the trace shows no handler call.
  public let toHandler: UInt64?

  public init(toEntry: UInt64, toHandler: UInt64?) {
    self.toEntry = toEntry
    self.toHandler = toHandler
  }

  /// The first exception in `sample`: the first kernel entry inside it that
  /// is not a SYSCALL, the return to user that follows, and the handler call
  /// after that. Positions come from `TraceScanner`; nil when the sample has
  /// no exception.
  public static func first(
    in sample: TracedSample, kernelEntries: [UInt64], returns: [UInt64], handlerCalls: [UInt64]
  ) -> ExceptionDispatch? {
    guard let entry = kernelEntries.first(where: { $0 > sample.start && $0 < sample.end }), entry > 0,
      let back = returns.first(where: { $0 > entry && $0 < sample.end })
    else { return nil }
    let faulted = entry - 1
    let call = handlerCalls.first { $0 > back && $0 < sample.end }
    return ExceptionDispatch(toEntry: back + 1 - faulted, toHandler: call.map { $0 + 1 - faulted })
  }
}
