// cpubench: the CPU paths of issue 4, each the median and p99 of many rdtsc
// deltas (guest instructions under icount): a null kernel call, and a
// thread switch inside the libOS (one yield from a thread to the next)
// under round-robin and stride. The last line is the evaluation's JSON.
import LibOSRuntime
import UserArch

@main
struct CPUBench {
  static let runs = 1000

  nonisolated(unsafe) static var stamp: UInt64 = 0
  nonisolated(unsafe) static var switches = Samples(capacity: 0)

  static func main() {
    Benchmark.calibrate()

    var results: [(StaticString, (median: UInt64, p99: UInt64))] = []
    results.append(("null_call", Benchmark.nullCall(runs: runs)))
    results.append(("thread_switch", threadSwitch(.roundRobin)))
    results.append(("thread_switch_stride", threadSwitch(.stride)))
    // Added once the kernel offers them (issue 4), never before:
    //   "pct_round_trip": a synchronous protected control transfer to a
    //     second env and back;
    //   "event_latency": from a bound interrupt to the env's event upcall.

    print("cpubench: rdtsc pair \(Samples.overhead) \(Benchmark.accel.unit.description) subtracted")
    Benchmark.report("cpubench", results)
  }

  /// Two threads yield to each other; each sample runs from just before one
  /// thread's yield to just after the other's yield returns: the scheduler's
  /// pick and the stack switch, with FP control words.
  static func threadSwitch(_ policy: Threads.Policy) -> (median: UInt64, p99: UInt64) {
    Threads.use(policy)
    switches = Samples(capacity: 2 * runs)
    stamp = 0
    let body = {
      for _ in 0..<runs {
        stamp = exo_rdtsc()
        Threads.yield()
        let t1 = exo_rdtsc()
        switches.add(stamp, t1)
      }
    }
    do {
      let a = try Threads.spawn(body)
      let b = try Threads.spawn(body)
      Threads.join(a)
      Threads.join(b)
    } catch {
      print("cpubench: spawn failed")
      Exo.exit(1)
    }
    return switches.summary()
  }
}
