// pct: protected control transfer between envs. `pct:server` answers each
// call with the sum of its words and quits when a call says so; `pct:client`
// calls the env after it (boot them as `pct:client pct:server`), checks
// every reply, and checks the errors for calling itself, an unknown env, an
// env that stopped listening, and an exited one. It also sends asynchronous
// calls (`pct_send`): the server's activation runs before the send returns
// and signals the client the word it was sent; the same errors hold.
// `pct:hostile pct:probed pct:picky` makes the hostile checks (Hostile.swift).
import LibOSRuntime
import UserArch

@main
struct PCT {
  static let quit: UInt64 = 0xdead
  /// A call whose first word is this asks the server to signal the caller
  /// with the second word as event bits.
  static let signalBack: UInt64 = 0x516
  /// The same after spinning 3 ms, longer than the sender's slice.
  static let spinThenSignal: UInt64 = 0x517
  /// Asks the server to serve every later call with `timed` (cpubench's
  /// round trip), until the caller signals it to exit.
  static let timeTransfers: UInt64 = 0xbe7c

  /// Counted in every activation: no exclusivity check (a runtime call per
  /// access), which would be most of the handler's part of the round trip.
  @exclusivity(unchecked) nonisolated(unsafe) static var served: UInt64 = 0
  nonisolated(unsafe) static var quitting = false
  nonisolated(unsafe) static var waitForSignal = false
  nonisolated(unsafe) static var timing = false

  static func main() {
    if App.argumentIs("server") {
      serve(entry: exo_pct_entry_address())
    } else if App.argumentIs("probed") {
      serve(entry: exo_pct_probe_entry_address(), probed: true)
    } else if App.argumentIs("picky") {
      picky()
    } else if App.argumentIs("hostile") {
      hostile()
    } else {
      client()
    }
  }

  /// One call, in the activation: the sum of its words, after what a
  /// special word asks for (kept out of line, so the common call is short).
  static func handle(_ caller: UInt64, _ w0: UInt64, _ w1: UInt64, _ w2: UInt64) -> UInt64 {
    served &+= 1
    if w0 == signalBack || w0 == spinThenSignal || w0 == quit || w0 == timeTransfers { special(caller, w0, w1) }
    return w0 &+ w1 &+ w2
  }

  /// The handler cpubench times the transfer with: no server work beyond
  /// an answer it can check (seL4's fastpath figure has none either).
  static func timed(_ caller: UInt64, _ w0: UInt64, _ w1: UInt64, _ w2: UInt64) -> UInt64 { w0 &+ 1 }

  @inline(never)
  static func special(_ caller: UInt64, _ w0: UInt64, _ w1: UInt64) {
    if w0 == spinThenSignal {
      let end = exo_rdtsc() + Time.ticks(microseconds: 3000)
      while exo_rdtsc() < end {}
    }
    if w0 == signalBack || w0 == spinThenSignal { try? Exo.eventSignal(EnvID(UInt16(truncatingIfNeeded: caller)), bits: w1) }
    if w0 == timeTransfers {
      // The entry stays pct.S's; only the handler it calls changes. The
      // main context exits at the caller's signal (Events.count).
      do throws(ExoError) {
        try Transfers.listen(callers: ~0) { caller, w0, w1, w2 in PCT.timed(caller, w0, w1, w2) }
        timing = true
      } catch {}
    }
    if w0 == quit {
      // Stop accepting calls now; the main context exits when it next
      // runs, or (second word 1) once the caller signals.
      waitForSignal = w1 == 1
      try? Exo.pctListen(entry: 0, stack: 0, callers: 0)
      quitting = true
    }
  }

  static func serve(entry: UInt64, probed: Bool = false) {
    Exo.eventListen(senders: ~0)
    do throws(ExoError) {
      if probed {
        try Transfers.listen(callers: ~0, entry: entry) { caller, w0, w1, w2 in PCT.handleProbed(caller, w0, w1, w2) }
      } else {
        try Transfers.listen(callers: ~0, entry: entry) { caller, w0, w1, w2 in PCT.handle(caller, w0, w1, w2) }
      }
    } catch {
      print("pct_listen failed: error \(error.rawValue)")
      Exo.exit(2)
    }
    // The shared page, where deliveries are counted (after listening: the
    // client calls as soon as the server listens).
    do throws(ExoError) { try Exceptions.install { _ in false } } catch {
      print("no shared page: error \(error.rawValue)")
      Exo.exit(2)
    }
    print("listening")
    while !quitting && !(timing && Events.count != 0) { Exo.yield() }
    // Alive, runnable and no longer listening until the client has checked
    // that (a timer may give this env the CPU at any point): the client
    // signals when done, and the signal is counted in the shared page.
    while waitForSignal && Events.count == 0 { Exo.yield() }
    print(timing ? "served \(served) calls, then cpubench's timed ones" : "served \(served) calls")
  }

  nonisolated(unsafe) static var wrong = 0

  static func expect(_ what: StaticString, _ result: Result<UInt64, ExoError>, _ expected: Result<UInt64, ExoError>) {
    if result == expected {
      print("ok \(what.description)")
    } else {
      wrong += 1
      switch result {
      case .success(let v): print("WRONG \(what.description): got \(v)")
      case .failure(let e): print("WRONG \(what.description): got error \(e.rawValue)")
      }
    }
  }

  static func call(_ env: UInt16, _ w0: UInt64, _ w1: UInt64 = 0, _ w2: UInt64 = 0) -> Result<UInt64, ExoError> {
    do throws(ExoError) { return .success(try Exo.pctCall(EnvID(env), w0, w1, w2)) } catch { return .failure(error) }
  }

  /// A send; while the server is still in the activation of an earlier one
  /// (a timer can end a turn between its signal and its reply) the answer
  /// is `busy`, and the client gives the server the CPU and sends again.
  static func send(_ env: UInt16, _ w0: UInt64, _ w1: UInt64 = 0) -> Result<UInt64, ExoError> {
    for _ in 0..<100 {
      do throws(ExoError) {
        try Exo.pctSend(EnvID(env), w0, w1)
        return .success(0)
      } catch {
        guard error == .busy else { return .failure(error) }
        Exo.yield()
      }
    }
    return .failure(.busy)
  }

  /// Asynchronous calls: each send's activation signals the bits back.
  /// Usually they are pending the moment the send returns (the callee ran
  /// first, in this env's turn); a timer may end the turn inside the
  /// activation, which then finishes in the server's turn, so the client
  /// waits for each bit rather than assuming it is there.
  static func sends(me: UInt16, server: UInt16) {
    Exo.eventListen(senders: 1 << UInt64(server))
    var arrived = 0
    for i: UInt64 in 0..<100 {
      let bit: UInt64 = 1 << (i % 64)
      if send(server, signalBack, bit) != .success(0) { wrong += 1 }
      var got: UInt64 = 0
      for _ in 0..<50 where got & bit == 0 { got |= (try? Exo.eventWait(microseconds: 100_000)) ?? 0 }
      if got == bit { arrived += 1 }
    }
    expect("100 sends each ran the server, which signalled back", arrived == 100 ? .success(0) : .failure(.busy), .success(0))
    expect("sending to itself is refused", send(me, 1), .failure(.noSuchEnv))
    expect("sending to an unknown env is refused", send(99, 1), .failure(.noSuchEnv))
    expect("sending to env 0 is refused", send(0, 1), .failure(.noSuchEnv))
    // An activation longer than the sender's slice: the timer ends the
    // sender's turn inside it, the sender runs on (its send has returned),
    // and the activation finishes in the server's own turn.
    let t0 = exo_rdtsc()
    expect("a send whose activation outlasts the turn returns", send(server, spinThenSignal, 0x40), .success(0))
    let bits = (try? Exo.eventWait(microseconds: 0)) ?? 0
    expect("its activation finishes in the server's turn and signals", bits & 0x40 != 0 ? .success(0) : .failure(.busy), .success(0))
    print("long send: signalled after \((exo_rdtsc() - t0) * 1000 / Time.ticks(microseconds: 1000)) us")
    var after = call(server, 2, 3)
    for _ in 0..<100 where after == .failure(.busy) {
      Exo.yield()
      after = call(server, 2, 3)
    }
    expect("a call after the sends is answered", after, .success(5))
  }

  /// The first call, (1, 2, 3). The server listens once it has run far
  /// enough, which may take more than one of its turns on a busy host:
  /// until then a call is refused as to an env that does not listen.
  static func firstCall(_ server: UInt16) -> Result<UInt64, ExoError> {
    var first = call(server, 1, 2, 3)
    for _ in 0..<1000 where first == .failure(.badCapability) {
      Exo.yield()
      first = call(server, 1, 2, 3)
    }
    return first
  }

  static func client() {
    let me = App.envID.raw
    let server = me + 1
    expect("a call returns the server's reply", firstCall(server), .success(6))
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
    sends(me: me, server: server)
    expect("the quit call is answered", call(server, quit, 1), .success(quit + 1))
    // The server has stopped listening but has not run since: still alive.
    expect("calling an env that no longer listens is refused", call(server, 1), .failure(.badCapability))
    expect("sending to an env that no longer listens is refused", send(server, 1), .failure(.badCapability))
    calls += 2
    // Let the server see `quitting` and exit, then call it again.
    try? Exo.eventSignal(EnvID(server), bits: 1)
    for _ in 0..<100 where call(server, 1) != .failure(.noSuchEnv) { Exo.yield() }
    expect("calling an exited env is refused", call(server, 1), .failure(.noSuchEnv))
    expect("sending to an exited env is refused", send(server, 1), .failure(.noSuchEnv))
    if wrong == 0 {
      print("pct: all \(calls) calls and refusals as expected")
      Exo.exit(0)
    }
    print("pct: \(wrong) wrong")
    Exo.exit(1)
  }
}
