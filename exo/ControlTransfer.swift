// Protected control transfer [Engler95]: a kernel call that moves the CPU
// from the caller to an entry point of another env, in the callee's address
// space and with its authority, donating the rest of the caller's slice. The
// callee runs in an activation of its own (a second register slot and FP
// area), so its main context is left as it was; `pct_reply` ends the
// activation and returns a word to the caller. `pct_send` is the
// asynchronous form: the callee's activation starts the same way, but the
// caller does not wait; when the activation ends the turn goes on with its
// owner. The kernel passes words in registers and decides nothing about
// what they mean.
import SecureBindings

enum ControlTransfer {
  typealias EnvRef = UnsafeMutablePointer<Env>

  static func listen(_ env: EnvRef, _ entry: UInt64, _ stack: UInt64, _ callers: UInt64) throws(CallFailure) {
    if entry == 0 {
      env.pointee.pctEntry = 0
      return
    }
    guard entry >= UserSpace.lowest, entry < UserSpace.top, stack & 15 == 0, stack > UserSpace.lowest,
      stack <= UserSpace.top
    else { throw CallFailure(.badAddress) }
    env.pointee.pctEntry = entry
    env.pointee.pctStack = stack
    env.pointee.pctCallers = callers
  }

  /// Checks the call, then starts the callee's activation: the caller's main
  /// context waits (or, `synchronous` false, has its call's result already
  /// and stays runnable), and its turn continues in the callee.
  static func call(
    _ env: EnvRef, _ calleeID: UInt64, _ words: (UInt64, UInt64, UInt64), synchronous: Bool = true
  ) throws(CallFailure) -> EnvRef {
    guard calleeID >= 1, calleeID <= UInt64(envTable.count), calleeID != UInt64(env.pointee.id.raw) else {
      throw CallFailure(.noSuchEnv)
    }
    let callee = envTable[EnvID(UInt16(calleeID))]
    guard callee.pointee.state == .runnable else { throw CallFailure(.noSuchEnv) }
    guard callee.pointee.pctEntry != 0, callee.pointee.pctCallers & (1 << UInt64(env.pointee.id.raw & 63)) != 0
    else { throw CallFailure(.badCapability) }
    // One activation per env, and calls only from a main context: no chains
    // that could wait on themselves.
    guard callee.pointee.serving == nil, !env.pointee.inActivation else { throw CallFailure(.busy) }

    if synchronous {
      env.pointee.waitingOn = callee.pointee.id
    } else {
      env.pointee.registers.pointee.setResult(status: 0, value: 0)
    }
    callee.pointee.serving = env.pointee.id
    callee.pointee.servingAsync = !synchronous
    callee.pointee.useActivation()
    // The same start as trap.S's fast path: the entry, its stack and the
    // four words, every other register zero, and the clean FP image (the
    // caller's own is saved into its main area when the callee's is loaded).
    callee.pointee.registers.pointee.startActivation(
      entry: callee.pointee.pctEntry, stack: callee.pointee.pctStack,
      words: (UInt64(env.pointee.id.raw), words.0, words.1, words.2))
    UserMode.initializeFPU(callee.pointee.activationFPU)
    return callee
  }

  /// Ends the activation `env` is running and gives `word` to its caller,
  /// whose main context runs next in the same turn. After an asynchronous
  /// call no one waits: the word is dropped and the turn's owner goes on
  /// (the sender, or the callee itself when the activation outlasted the
  /// sender's turn); nil when the owner can no longer run.
  static func reply(_ env: EnvRef, _ word: UInt64) throws(CallFailure) -> EnvRef? {
    guard env.pointee.inActivation, let callerID = env.pointee.serving else { throw CallFailure(.badArgument) }
    let caller = envTable[callerID]
    let synchronous = !env.pointee.servingAsync
    finish(env)
    guard synchronous else {
      guard let owner = turnOwner, owner.pointee.state == .runnable else { return nil }
      return owner
    }
    caller.pointee.mainRegisters.pointee.setResult(status: 0, value: word)
    caller.pointee.useMain()
    return caller
  }

  /// The activation is over, whatever ended it; a synchronous caller stops waiting.
  static func finish(_ callee: EnvRef) {
    if let callerID = callee.pointee.serving, envTable[callerID].pointee.waitingOn == callee.pointee.id {
      envTable[callerID].pointee.waitingOn = nil
    }
    callee.pointee.serving = nil
    callee.pointee.servingAsync = false
    UserMode.forgetFPU(callee.pointee.activationFPU)
    callee.pointee.useMain()
  }

  /// At exit: a synchronous call the env was serving fails with no_such_env.
  static func endCalls(of env: EnvRef) {
    if let callerID = env.pointee.serving, !env.pointee.servingAsync {
      envTable[callerID].pointee.mainRegisters.pointee.setResult(status: ExoError.noSuchEnv.rawValue, value: 0)
    }
    finish(env)
    env.pointee.pctEntry = 0
  }
}
