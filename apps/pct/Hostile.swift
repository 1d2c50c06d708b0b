// The transfer's hostile cases, booted as `pct:hostile pct:probed pct:picky`:
// `probed` serves as `server` does behind pct_probe.S's entry, `picky`
// listens to `probed` only. `hostile` checks register leakage both ways
// byte for byte (through pct_probe.S), then the refusals: itself, unknown
// envs, a callee that does not allow it, a busy callee, a call from inside
// an activation, one that stopped listening, one that exited.
import LibOSRuntime
import UserArch

extension PCT {
  /// Reply: the violations the probe's entry recorded (0: none).
  static let reportEntry: UInt64 = 0x5e1
  /// From inside the activation, call env `w1`; reply: the refusal's raw value (0: accepted).
  static let callOut: UInt64 = 0xca11

  static let callee = UInt64(EXO_PROBE_CALLEE_PATTERN)
  static let callerPattern = UInt64(EXO_PROBE_CALLER_PATTERN)

  /// A register of a probe area (0 RAX, 1 RBX, 2 RCX, 3 RDX, 4 RSI, 5 RDI,
  /// 6 RBP, 7 RSP, 8-15 R8-R15), or a byte range of its FXSAVE image.
  static func general(_ area: Int32, _ i: Int) -> UInt64 {
    UnsafeRawPointer(exo_probe_area(area)!).load(fromByteOffset: i * 8, as: UInt64.self)
  }
  static func fx(_ area: Int32) -> UnsafeRawPointer { UnsafeRawPointer(exo_probe_area(area)!).advanced(by: 128) }
  /// FXSAVE offsets: control word 0, abridged tag word 4, MXCSR 24, ST0-7 32, XMM0-15 160.
  static let stBytes = 32..<160
  static let xmmBytes = 160..<416

  /// What the callee's entry saw, against what the kernel promises: the
  /// caller's id and the words in RDI, RSI, RDX, R10, the entry and IF in
  /// RCX and R11, the stack top in RSP, zero in every other general
  /// register, in the x87 and XMM registers, and FNINIT's control words.
  static func entryViolations(caller: UInt64) -> UInt64 {
    var bad: UInt64 = 0
    for i in [0, 1, 6, 8, 9, 12, 13, 14, 15] where general(0, i) != 0 { bad |= 1 }
    if general(0, 5) != caller || general(0, 4) != UInt64(EXO_PROBE_WORD) || general(0, 3) != 2 || general(0, 10) != 3 {
      bad |= 2
    }
    if general(0, 2) != exo_pct_probe_entry_address() || general(0, 11) != 0x202 { bad |= 4 }
    if general(0, 7) != exo_pct_stack_top() { bad |= 8 }
    let area = fx(0)
    for b in stBytes.lowerBound..<xmmBytes.upperBound where area.load(fromByteOffset: b, as: UInt8.self) != 0 { bad |= 16 }
    if area.load(as: UInt16.self) != 0x037f || area.load(fromByteOffset: 4, as: UInt8.self) != 0
      || area.load(fromByteOffset: 24, as: UInt32.self) != 0x1f80
    {
      bad |= 32
    }
    return bad
  }

  /// `probed`'s handler: the hostile words, then `server`'s.
  static func handleProbed(_ caller: UInt64, _ w0: UInt64, _ w1: UInt64, _ w2: UInt64) -> UInt64 {
    if w0 == reportEntry { return entryViolations(caller: caller) }
    if w0 == callOut { return callFromActivation(w1) }
    return handle(caller, w0, w1, w2)
  }

  static func callFromActivation(_ env: UInt64) -> UInt64 {
    do throws(ExoError) {
      _ = try Exo.pctCall(EnvID(UInt16(truncatingIfNeeded: env)), 1)
      return 0
    } catch {
      return error.rawValue
    }
  }

  /// Whether `word` is the callee's pattern in any byte rotation (pct_probe.S
  /// fills the XMM registers with rotations).
  static func isCalleePattern(_ word: UInt64) -> Bool {
    var p = callee
    for _ in 0..<8 {
      if word == p { return true }
      p = p << 8 | p >> 56
    }
    return false
  }

  /// After a probe call: the callee-saved registers and RSP as sent, the
  /// result in RAX and RDX, every XMM byte and the control words the
  /// caller's own, no word of the callee's pattern in an XMM or x87
  /// register. After a synchronous call (the fast path's SYSRET) also zero
  /// in RSI, RDI, R8-R10, RFLAGS in R11 and no word of the callee's pattern
  /// in any general register. A sender resumes by IRETQ from its slot,
  /// whose scratch registers are its own from its last full save: they may
  /// hold anything this env computed (this check's own patterns included),
  /// so only the rest is checked.
  static func callerViolations(value: UInt64, synchronous: Bool) -> UInt64 {
    var bad: UInt64 = 0
    for i in [1, 6, 7, 12, 13, 14, 15] where general(2, i) != general(1, i) { bad |= 1 }
    if general(2, 0) != 0 || general(2, 3) != value { bad |= 2 }
    if synchronous {
      for i in [4, 5, 8, 9, 10] where general(2, i) != 0 { bad |= 4 }
      if general(2, 11) & ~UInt64(0x3f_7fd7) != 0 { bad |= 8 }  // R11: RFLAGS only
      for i in 0..<16 where isCalleePattern(general(2, i)) { bad |= 16 }
    }
    let sent = fx(1)
    let back = fx(2)
    for b in xmmBytes where back.load(fromByteOffset: b, as: UInt8.self) != sent.load(fromByteOffset: b, as: UInt8.self) {
      bad |= 32
    }
    for w in 0..<64 where isCalleePattern(back.load(fromByteOffset: w * 8, as: UInt64.self)) { bad |= 64 }
    if back.load(as: UInt16.self) != sent.load(as: UInt16.self)
      || back.load(fromByteOffset: 24, as: UInt32.self) != sent.load(fromByteOffset: 24, as: UInt32.self)
    {
      bad |= 128
    }
    // The probe did fill what it claims: the caller's pattern went in.
    if fx(1).load(fromByteOffset: xmmBytes.lowerBound, as: UInt64.self) != callerPattern { bad |= 256 }
    return bad
  }

  static func picky() {
    let me = App.envID.raw
    Exo.eventListen(senders: ~0)
    do throws(ExoError) {
      try Transfers.listen(callers: 1 << UInt64(me - 1)) { _, _, _, _ in 7 }
      try Exceptions.install { _ in false }
    } catch {
      print("pct_listen failed: error \(error.rawValue)")
      Exo.exit(2)
    }
    print("listening to env \(me - 1) only")
    // Runnable until signalled (a callee blocked in event_wait is refused
    // as no_such_env, which is not the refusal checked here); the signal
    // is counted in the shared page.
    while Events.count == 0 { Exo.yield() }
    print("done")
  }

  static func hostile() {
    let me = App.envID.raw
    let probed = me + 1
    let picky = me + 2
    expect("a call returns the probed server's reply", firstCall(probed), .success(6))

    // Registers, both ways, synchronous then asynchronous.
    let r = exo_pct_probe_call(UInt64(probed), KernelCall.pctCall.rawValue)
    expect("the probe call is answered", r.status == 0 ? .success(r.value) : .failure(.badArgument), .success(UInt64(EXO_PROBE_REPLY)))
    let back = callerViolations(value: UInt64(EXO_PROBE_REPLY), synchronous: true)
    if back != 0 { print("caller after the reply: violations \(back)") }
    expect("the caller gets its registers back and nothing of the callee's", .success(back), .success(0))
    let seen = call(probed, reportEntry)
    if seen != .success(0) { print("callee at entry: \(seen)") }
    expect("the callee starts with the words and zero elsewhere", seen, .success(0))
    var s = exo_pct_probe_call(UInt64(probed), KernelCall.pctSend.rawValue)
    for _ in 0..<100 where s.status == ExoError.busy.rawValue {
      Exo.yield()
      s = exo_pct_probe_call(UInt64(probed), KernelCall.pctSend.rawValue)
    }
    expect("the probe send is accepted", s.status == 0 ? .success(s.value) : .failure(.badArgument), .success(0))
    let sendBack = callerViolations(value: 0, synchronous: false)
    if sendBack != 0 { print("sender after the activation: violations \(sendBack)") }
    expect("the sender gets its registers back and nothing of the callee's", .success(sendBack), .success(0))
    expect("the callee of a send starts clean too", call(probed, reportEntry), .success(0))

    // Refusals.
    expect("calling itself is refused", call(me, 1), .failure(.noSuchEnv))
    expect("calling env 0 is refused", call(0, 1), .failure(.noSuchEnv))
    expect("calling an unclaimed env is refused", call(picky + 1, 1), .failure(.noSuchEnv))
    expect("calling past the env table is refused", call(17, 1), .failure(.noSuchEnv))
    expect("calling an env that does not allow the caller is refused", call(picky, 1), .failure(.badCapability))
    expect("sending to an env that does not allow the caller is refused", send(picky, 1), .failure(.badCapability))
    expect(
      "a call from inside an activation is refused", call(probed, callOut, UInt64(picky)),
      .success(ExoError.busy.rawValue))
    // A send whose activation outlasts this env's turn: when this env runs
    // again the callee is still in it.
    Exo.eventListen(senders: 1 << UInt64(probed))
    expect("a long send is accepted", send(probed, spinThenSignal, 0x80), .success(0))
    expect("calling a busy callee is refused", call(probed, 1), .failure(.busy))
    var bits: UInt64 = 0
    for _ in 0..<50 where bits & 0x80 == 0 { bits |= (try? Exo.eventWait(microseconds: 100_000)) ?? 0 }
    expect("the long send's activation finishes", bits & 0x80 != 0 ? .success(0) : .failure(.busy), .success(0))

    // The long send's activation may still be between its signal and its reply.
    var quitting = call(probed, quit, 1)
    for _ in 0..<100 where quitting == .failure(.busy) {
      Exo.yield()
      quitting = call(probed, quit, 1)
    }
    expect("the quit call is answered", quitting, .success(quit + 1))
    expect("calling an env that no longer listens is refused", call(probed, 1), .failure(.badCapability))
    try? Exo.eventSignal(EnvID(probed), bits: 1)
    for _ in 0..<100 where call(probed, 1) != .failure(.noSuchEnv) { Exo.yield() }
    expect("calling an exited env is refused", call(probed, 1), .failure(.noSuchEnv))
    try? Exo.eventSignal(EnvID(picky), bits: 1)
    if wrong == 0 {
      print("pct: every hostile case as expected")
      Exo.exit(0)
    }
    print("pct: \(wrong) wrong")
    Exo.exit(1)
  }
}
