// cpubench: the CPU paths of issue 4, each the median and p99 of many rdtsc
// deltas (guest instructions under icount): a null kernel call, a thread
// switch inside the libOS (one yield from a thread to the next) under
// round-robin and stride, and, when booted beside `pct:server`, a protected
// control transfer round trip (pct_call, and pct_send, which does not wait
// for the reply), and the event delivery latency (a timer's
// interrupt to the env's upcall). The last line is the evaluation's JSON.
import LibOSRuntime
import UserArch

@main
struct CPUBench {
  static let runs = Benchmark.runs(1000, tracing: 20)

  nonisolated(unsafe) static var stamp: UInt64 = 0
  nonisolated(unsafe) static var switches = Samples(capacity: 0)

  static func main() {
    // Traced, the metrics are so short that pct:server would not yet
    // listen when the PCT loop starts: give it its first turn.
    if Benchmark.tracing { Exo.yield() }
    Benchmark.calibrate()

    var results: [(StaticString, (median: UInt64, p99: UInt64))] = []
    results.append(("null_call", Benchmark.nullCall(runs: runs)))
    results.append(("thread_switch", threadSwitch(.roundRobin)))
    results.append(("thread_switch_stride", threadSwitch(.stride)))
    if let pct = pctRoundTrip() {
      results.append(("pct_round_trip", pct.call))
      results.append(("pct_send_round_trip", pct.send))
    }
    results.append(("event_latency", eventLatency()))

    print("cpubench: rdtsc pair \(Samples.overhead) \(Benchmark.accel.unit.description) subtracted")
    Benchmark.report("cpubench", results)
  }

  /// A synchronous protected control transfer to the next env and back,
  /// when that env is `pct:server` (boot `cpubench:icount pct:server`):
  /// call, the server's activation, its reply, the return. Without a server
  /// the metric is left out, and the line says why.
  /// The same with `pct_send`: the server's activation runs and ends with
  /// its reply word dropped, and the send returns.
  static func pctRoundTrip() -> (call: Benchmark.Result, send: Benchmark.Result)? {
    let server = EnvID(App.envID.raw + 1)
    do throws(ExoError) {
      // The server listens once it has had a turn far enough in; the thread
      // benchmarks before this one may end inside cpubench's first slice.
      // Until then a call is refused as to an env that does not listen.
      var first: UInt64 = 0
      for attempt in 0..<1000 {
        do throws(ExoError) {
          first = try Exo.pctCall(server, 1, 2, 3)
          break
        } catch {
          guard error == .badCapability, attempt < 999 else { throw error }
          Exo.yield()
        }
      }
      // pct:server's word for "serve the rest with the minimal handler"
      // (w0 + 1): the figure is the transfer's, not pct:server's handler's.
      let timeTransfers: UInt64 = 0xbe7c
      guard first == 6, try Exo.pctCall(server, timeTransfers) == timeTransfers,
        try Exo.pctCall(server, 41) == 42
      else {
        print("cpubench: env \(server.raw) is not pct:server; pct_round_trip left out")
        return nil
      }
      var s = Samples(capacity: runs)
      for i in 0..<UInt64(runs) {
        let t0 = exo_rdtsc()
        _ = try Exo.pctCall(server, i)
        let t1 = exo_rdtsc()
        s.add(t0, t1)
      }
      // A send whose activation a timer interrupted finishes in the server's
      // turn; until then the next send is refused as busy (under KVM, where
      // ring-0 code is emulated, often). Such sends give the CPU away, are
      // sent again, and are not samples.
      var sends = Samples(capacity: runs)
      var i: UInt64 = 0
      while i < UInt64(runs) {
        let t0 = exo_rdtsc()
        do throws(ExoError) {
          try Exo.pctSend(server, i)
        } catch {
          guard error == .busy else { throw error }
          Exo.yield()
          continue
        }
        let t1 = exo_rdtsc()
        sends.add(t0, t1)
        i += 1
      }
      try Exo.eventSignal(server, bits: 1)  // the timed server's "exit"
      Exo.yield()  // it exits in its turn, before the event latency's samples
      return (s.summary(), sends.summary())
    } catch {
      print("cpubench: no pct:server after this env (error \(error.name.description)); pct_round_trip left out")
      return nil
    }
  }

  /// Filled by the event upcall; allocated before the timer is armed, so
  /// the upcall never enters the allocator.
  nonisolated(unsafe) static var latencies: UnsafeMutablePointer<UInt64>? = nil
  nonisolated(unsafe) static var latencyCount = 0

  /// A periodic timer (every 700 µs: under KVM, where ring-0 code is
  /// emulated, a period near the kernel's 50 µs minimum leaves the env
  /// nothing but upcalls; and not a divisor of the 1 ms slice, so that the
  /// ticks' phase against the slice's end walks round it and only about one
  /// tick in ten also ends a slice, which the p99 shows, instead of every
  /// other tick or none depending on how long the benchmarks before ran)
  /// interrupts this env while it spins; each sample runs from the kernel's TSC stamp
  /// at the interrupt's entry (in the shared page) to the first instruction
  /// of the libOS's event handler that can read the TSC: the kernel's timer
  /// path, the event's delivery, the return to ring 3 and the upcall entry.
  /// Run last, when the PCT server has exited, so no other env's turn lies
  /// between an interrupt and its upcall.
  static func eventLatency() -> Benchmark.Result {
    let samples = Benchmark.runs(200, tracing: 6)  // each sample spins a 700 µs period
    let buffer = UnsafeMutablePointer<UInt64>.allocate(capacity: samples)
    buffer.initialize(repeating: 0, count: samples)
    latencies = buffer
    do throws(ExoError) {
      try Events.onDelivery { _ in
        let now = exo_rdtsc()
        if latencyCount < samples, let latencies {
          latencies[latencyCount] = now &- Events.latestStamp
          latencyCount += 1
        }
      }
      let period = Time.ticks(microseconds: 700)
      let first = Events.count
      let timer = try Exo.timerArm(deadline: exo_rdtsc() + period, period: period, bit: 1)
      // The page's counter is read with a volatile load; a plain load of
      // latencyCount could be hoisted out of the loop by the compiler.
      while Events.count &- first < UInt64(samples) {}
      try Exo.timerCancel(timer)
    } catch {
      print("cpubench: event timer failed: error \(error.name.description)")
      Exo.exit(1)
    }
    var s = Samples(capacity: samples)
    for i in 0..<latencyCount { s.add(0, buffer[i]) }
    return s.summary()
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
