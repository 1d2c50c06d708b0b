// sleeper: waits in the kernel rather than spinning. By default it sleeps
// three times and checks, against the TSC, that it never woke early, then
// once for less than a slice; when every env sleeps the kernel halts the CPU. `sleeper:waiter` blocks until
// `sleeper:signaler` (the next env) signals it, and prints the bits.
// `sleeper:timers` checks per-env timers (SleeperTimers.swift).
import LibOSRuntime
import UserArch

@main
struct Sleeper {
  static func main() {
    if App.argumentIs("timers") {
      SleeperTimers.run()
    } else if App.argumentIs("waiter") {
      Exo.eventListen(senders: 1 << UInt64(App.envID.raw + 1))
      do throws(ExoError) {
        let bits = try Exo.eventWait(microseconds: 0)
        print("woken by a signal: bits 0x\(String(bits, radix: 16))")
      } catch {
        print("event_wait failed: error \(error.rawValue)")
        Exo.exit(1)
      }
    } else if App.argumentIs("signaler") {
      let waiter = EnvID(App.envID.raw - 1)
      Exo.yield()  // let the waiter start waiting
      do throws(ExoError) {
        try Exo.eventSignal(waiter, bits: 0x5a)
        print("signalled env \(waiter.raw)")
      } catch {
        print("event_signal failed: error \(error.rawValue)")
        Exo.exit(1)
      }
      // Signalling an env that did not list this one is refused.
      do throws(ExoError) {
        try Exo.eventSignal(EnvID(App.envID.raw + 1), bits: 1)
        print("WRONG: a signal to an env that does not listen went through")
        Exo.exit(1)
      } catch {
        print("a signal to an env that does not listen is refused: error \(error.rawValue)")
      }
    } else {
      var early = 0
      let least = Time.ticks(microseconds: 2000)  // from the kernel's time page
      for _ in 0..<3 {
        let t0 = exo_rdtsc()
        let bits = (try? Exo.eventWait(microseconds: 2000)) ?? 1
        let t1 = exo_rdtsc()
        if bits != 0 || t1 &- t0 < least { early += 1 }
        print("slept \(t1 &- t0) TSC ticks")
      }
      if early > 0 {
        print("WRONG: \(early) sleeps ended early")
        Exo.exit(1)
      }
      print("slept 3 times")
      // A timeout shorter than a slice: the kernel programs the APIC for it,
      // so the env wakes near 300 µs, not at the next slice's end.
      let t0 = exo_rdtsc()
      let bits = (try? Exo.eventWait(microseconds: 300)) ?? 1
      print("short sleep took \(exo_rdtsc() &- t0) TSC ticks, bits \(bits)")
    }
  }
}
