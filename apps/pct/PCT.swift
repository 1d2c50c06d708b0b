// pct: protected control transfer between envs. `pct:server` answers each
// call with the sum of its words and quits when a call says so; `pct:client`
// calls the env after it (boot them as `pct:client pct:server`), checks
// every reply, and checks the errors for calling itself, an unknown env, an
// env that stopped listening, and an exited one.
import LibOSRuntime
import UserArch

@main
struct PCT {
  static let quit: UInt64 = 0xdead

  nonisolated(unsafe) static var served: UInt64 = 0
  nonisolated(unsafe) static var quitting = false

  static func main() {
    if App.argumentIs("server") { serve() } else { client() }
  }

  static func serve() {
    do throws(ExoError) {
      try Transfers.listen(callers: ~0) { _, w0, w1, w2 in
        served &+= 1
        if w0 == quit {
          // Stop accepting calls now; the main context exits when it next runs.
          try? Exo.pctListen(entry: 0, stack: 0, callers: 0)
          quitting = true
        }
        return w0 &+ w1 &+ w2
      }
    } catch {
      print("pct_listen failed: error \(error.rawValue)")
      Exo.exit(2)
    }
    print("listening")
    while !quitting { Exo.yield() }
    print("served \(served) calls")
  }

  nonisolated(unsafe) static var wrong = 0

  static func expect(_ what: StaticString, _ result: Result<UInt64, ExoError>, _ expected: Result<UInt64, ExoError>) {
    if result == expected {
      print("ok \(what.description)")
    } else {
      wrong += 1
      print("WRONG \(what.description)")
    }
  }

  static func call(_ env: UInt16, _ w0: UInt64, _ w1: UInt64 = 0, _ w2: UInt64 = 0) -> Result<UInt64, ExoError> {
    do throws(ExoError) { return .success(try Exo.pctCall(EnvID(env), w0, w1, w2)) } catch { return .failure(error) }
  }

  static func client() {
    let me = App.envID.raw
    let server = me + 1
    Exo.yield()  // let the server start listening
    expect("a call returns the server's reply", call(server, 1, 2, 3), .success(6))
    var calls: UInt64 = 1
    var best = UInt64.max
    for i: UInt64 in 0..<1000 {
      let t0 = exo_rdtsc()
      let reply = call(server, i, 1)
      let t1 = exo_rdtsc()
      best = min(best, t1 &- t0)
      calls += 1
      if reply != .success(i + 1) { wrong += 1 }
    }
    print("1000 calls answered; fastest round trip \(best) tsc ticks")
    expect("calling itself is refused", call(me, 1), .failure(.noSuchEnv))
    expect("calling an unknown env is refused", call(99, 1), .failure(.noSuchEnv))
    expect("the quit call is answered", call(server, quit), .success(quit))
    // The server has stopped listening but has not run since: still alive.
    expect("calling an env that no longer listens is refused", call(server, 1), .failure(.badCapability))
    calls += 2
    // Let the server see `quitting` and exit, then call it again.
    for _ in 0..<4 { Exo.yield() }
    expect("calling an exited env is refused", call(server, 1), .failure(.noSuchEnv))
    if wrong == 0 {
      print("pct: all \(calls) calls and refusals as expected")
      Exo.exit(0)
    }
    print("pct: \(wrong) wrong")
    Exo.exit(1)
  }
}
