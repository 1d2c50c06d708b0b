// Every entry into the kernel lands here (trap.S calls exo_trap with the
// saved registers): kernel calls go to the dispatcher, a user-mode exception
// goes to the env's handler by upcall (or kills the env if it has none), the
// timer ends a slice, a fault in kernel mode is a panic. Then the slice
// vector says who runs.
import SecureBindings

/// The running env, as trap.S's transfer fast path also sets it
/// (`running_env`, its id `syscall_env_id`).
var runningEnv: UnsafeMutablePointer<Env>? {
  get { UserMode.runningEnv }
  set { UserMode.runningEnv = newValue }
}

/// What happens after a trap has been handled.
enum AfterTrap {
  /// The same env goes on, through every check of an env switch.
  case resume
  /// The same env goes on at an entry the kernel chose and checked (an upcall).
  case upcall
  /// The next env in the slice vector runs.
  case yield
  /// The env is gone; the next one runs.
  case gone
  /// A protected control transfer: this env's context runs now, in the same turn.
  case transfer(UnsafeMutablePointer<Env>)
}

/// SYSCALL's entry (trap.S has pushed the caller's registers into its slot).
/// A call that returns to its caller needs none of an env switch's work:
/// RIP came from SYSCALL, CS, SS and RFLAGS from the entry code, CR3, the
/// FP state and the slice timer are the caller's already.
@_cdecl("exo_syscall")
func exoSyscall(_ frame: UnsafeMutablePointer<UserRegisters>) -> Never {
  guard let env = runningEnv else { panic("kernel call with no env running") }
  switch KernelCalls.dispatch(env) {
  case .resume: UserMode.returnFromCall(frame)
  case .upcall: UserMode.returnToCaller(frame)
  case .transfer(let target): enterContext(target)
  case .yield, .gone: endTurn()
  }
}

@_cdecl("exo_trap")
func exoTrap(_ frame: UnsafeMutablePointer<UserRegisters>) -> Never {
  if !frame.pointee.isFromUserMode && SliceVector.idling {
    // The tick, a device, or a spurious interrupt ends an idle halt.
    if frame.pointee.trapVector == LocalAPIC.timerVector { LocalAPIC.endOfInterrupt() }
    if frame.pointee.trapVector == Devices.serialVector { Devices.serialInterrupt() }
    if frame.pointee.trapVector == Network.vector { Network.interrupt() }
    if frame.pointee.trapVector >= 32 { UserMode.returnToKernel(frame) }
  }
  guard frame.pointee.isFromUserMode, let env = runningEnv else { panic(trap: frame) }
  // Entries from ring 3 push straight into the env's slot; only the IST
  // vectors (NMI, #DF, #MC) arrive on a stack of their own.
  if frame != env.pointee.registers { env.pointee.registers.pointee = frame.pointee }
  let registers = env.pointee.registers
  let vector = registers.pointee.trapVector
  if vector == Vectors.pageFault { registers.pointee.recoverSyscallFault() }
  let after: AfterTrap
  if registers.pointee.isKernelCall {
    after = KernelCalls.dispatch(env)
  } else if vector == Vectors.machineCheck {
    panic(trap: frame)
  } else if vector < 32 && vector != Vectors.nmi {
    after = deliverException(env, vector: vector)
  } else if vector == LocalAPIC.timerVector {
    after = SliceVector.expired(turnOwner ?? env)
  } else if vector == Devices.serialVector {
    Devices.serialInterrupt()
    after = .resume
  } else if vector == Network.vector {
    Network.interrupt()
    after = .resume
  } else {
    after = .resume  // NMI, or a spurious APIC or PIC interrupt: nothing to do
  }
  switch after {
  case .resume:
    if vector == LocalAPIC.timerVector && SliceVector.sliceBegan { startSlice(env) }
    enterContext(env)
  case .upcall: UserMode.returnToCaller(registers)
  case .transfer(let target): enterContext(target)
  case .yield, .gone: endTurn()
  }
}

/// The exception upcall: the saved state goes into the env's shared page,
/// upcalls are marked disabled there, and the env's handler runs on its own
/// stack. An env with no handler, or one already handling an exception
/// (the word still set), is killed. Nothing else changes hands, so the env
/// goes straight back to ring 3.
func deliverException(_ env: UnsafeMutablePointer<Env>, vector: UInt64) -> AfterTrap {
  guard env.pointee.exceptionEntry != 0 else {
    kill(env, vector: vector)
    return .gone
  }
  let shared = Machine.physical(env.pointee.sharedFrame.physicalAddress)
  guard shared.load(fromByteOffset: ExceptionSlot.upcallsDisabled, as: UInt64.self) == 0 else {
    kill(env, vector: vector, inHandler: true)
    return .gone
  }
  let registers = env.pointee.registers
  registers.pointee.save(into: shared)
  shared.storeBytes(of: 1, toByteOffset: ExceptionSlot.upcallsDisabled, as: UInt64.self)
  registers.pointee.redirect(
    to: env.pointee.exceptionEntry, stack: env.pointee.exceptionStack, argument: env.pointee.sharedPageAddress,
    vector: vector)
  return .upcall
}

/// Keeps trap.S's exception fast path describing the running env.
func publishUpcall(_ env: UnsafeMutablePointer<Env>) {
  let hasHandler = env.pointee.exceptionEntry != 0
  UserMode.setUpcall(
    shared: hasHandler ? Machine.physical(env.pointee.sharedFrame.physicalAddress) : nil,
    entry: env.pointee.exceptionEntry, stack: env.pointee.exceptionStack, argument: env.pointee.sharedPageAddress)
}

/// The one-line report of a user-mode exception, then the env is gone.
func kill(_ env: UnsafeMutablePointer<Env>, vector: UInt64, inHandler: Bool = false) {
  let line = KernelLine().text("env ").env(env.pointee).text(" killed: ")
  if inHandler { line.text("fault in handler: ") }
  line.text(Vectors.name(vector))
    .text(" at rip ").hex(env.pointee.registers.pointee.instructionPointer)
  if vector == Vectors.pageFault {
    line.text(", address ").hex(UserRegisters.faultAddress).text(", error ").hex(env.pointee.registers.pointee.errorCode)
  }
  line.end()
  retire(env)
}

/// Ends an env: flushes its line, and returns every frame it held.
func retire(_ env: UnsafeMutablePointer<Env>) {
  if env.pointee.line.count > 0 { Console.flush(&env.pointee) }
  AddressSpace.activateKernelOnly()
  UserMode.forgetFPU(env.pointee.fpu)
  MemoryCalls.unregisterHandler(env)
  MemoryCalls.endGrants(of: env)
  ControlTransfer.endCalls(of: env)
  Timers.cancelAll(env)
  Devices.unbind(env)
  Network.detach(env)
  _ = frameTable.releaseAll(of: env.pointee.id)
  env.pointee.framesHeld = 0
  env.pointee.state = .exited
  Quotas.rebalance()  // its share goes back to the others
}

/// The env whose turn in the slice vector it is. Its main context runs,
/// unless it waits in a synchronous call: then the callee's activation runs
/// in its turn, on its slices. An activation serving an asynchronous call
/// that outlasted its sender's turn runs in the callee's own turns, before
/// its main context.
/// A C global: trap.S's reply to a send checks it.
var turnOwner: UnsafeMutablePointer<Env>? {
  get { UserMode.turnOwner }
  set { UserMode.turnOwner = newValue }
}

func startTurn(_ owner: UnsafeMutablePointer<Env>) -> Never {
  turnOwner = owner
  Revocation.turnStarted(owner)
  if let callee = owner.pointee.waitingOn {
    envTable[callee].pointee.useActivation()
    enterContext(envTable[callee])
  }
  if owner.pointee.servingAsync {
    owner.pointee.useActivation()
    enterContext(owner)
  }
  owner.pointee.useMain()
  startSlice(owner)
  enterContext(owner)
}

/// A slice of `env` begins: if it asked for slice-start upcalls and its
/// upcalls are enabled, its main context as the timer left it goes into the
/// shared page and its handler runs (vector `ExceptionSlot.sliceStart`), so
/// its libOS picks which of its threads runs. With upcalls disabled (it was
/// handling an upcall) it resumes where it stopped, and nothing is lost.
func startSlice(_ env: UnsafeMutablePointer<Env>) {
  guard env.pointee.sliceUpcalls else { return }
  upcallMain(env, vector: ExceptionSlot.sliceStart)
}

/// Sends the env's main context to its handler with `vector`, the context
/// saved in the shared page, when its upcalls are enabled. Not in an
/// activation, nor while the main context waits for a reply (the reply's
/// registers would be lost); a refused upcall leaves the context as it was.
/// Inlined, as Events.deliver is: both are on the event-latency path.
@inline(__always)
func upcallMain(_ env: UnsafeMutablePointer<Env>, vector: UInt64) {
  guard !env.pointee.inActivation, env.pointee.waitingOn == nil, env.pointee.exceptionEntry != 0 else { return }
  let shared = Machine.physical(env.pointee.sharedFrame.physicalAddress)
  guard shared.load(fromByteOffset: ExceptionSlot.upcallsDisabled, as: UInt64.self) == 0 else { return }
  let registers = env.pointee.registers
  registers.pointee.save(into: shared)
  shared.storeBytes(of: vector, toByteOffset: ExceptionSlot.vector, as: UInt64.self)
  shared.storeBytes(of: 0, toByteOffset: ExceptionSlot.error, as: UInt64.self)
  shared.storeBytes(of: 1, toByteOffset: ExceptionSlot.upcallsDisabled, as: UInt64.self)
  registers.pointee.redirect(
    to: env.pointee.exceptionEntry, stack: env.pointee.exceptionStack, argument: env.pointee.sharedPageAddress,
    vector: vector)
}

/// Runs `env`'s current context (`env.registers`) in the current turn.
func enterContext(_ env: UnsafeMutablePointer<Env>) -> Never {
  guard UserMode.isUserAddress(env.pointee.registers.pointee.instructionPointer) else {
    KernelLine().text("env ").env(env.pointee).text(" killed: return address outside the user half").end()
    retire(env)
    endTurn()
  }
  if runningEnv != env {
    runningEnv = env
    publishUpcall(env)
  }
  SliceVector.arm(for: turnOwner ?? env)
  UserMode.enter(env.pointee.registers, space: env.pointee.space, fpu: env.pointee.fpu)
}

/// The turn is over (a yield, an exit, its last slice): the next env's begins.
func endTurn() -> Never {
  runNext(after: (turnOwner ?? runningEnv)?.pointee.id ?? EnvID(UInt16(Limits.maxEnvs)))
}

func runNext(after id: EnvID) -> Never {
  Events.wakeExpired()
  if let next = envTable.next(after: id) { startTurn(envTable[next]) }
  if let woken = Events.idle() { startTurn(woken) }
  allEnvsExited()
}

func allEnvsExited() -> Never {
  runningEnv = nil
  if Console.firstEnvLineTSC != 0 {
    KernelLine().text("boot: first env line after ").decimal(Console.firstEnvLineTSC &- Machine.kernelEntryTSC)
      .text(" tsc ticks from kernel entry").end()
  }
  if Events.halts > 0 {
    KernelLine().text("idle: halted ").decimal(Events.halts).text(" times while every env waited").end()
  }
  if Network.present {
    let c = Network.counters
    KernelLine().text("net: received ").decimal(c.received).text(", delivered ").decimal(c.delivered)
      .text(", no owner ").decimal(c.noOwner).text(", ring full ").decimal(c.ringFull).text("; sent ")
      .decimal(c.sent).text(", refused as spoofed ").decimal(c.spoofed).text(", device full ").decimal(c.deviceFull)
      .text(", chained ").decimal(c.chained).end()
  }
  KernelLine().text(ConsoleWords.allEnvsExited).text("; frames free ").decimal(UInt64(frameTable.freeCount))
    .text(" of ").decimal(UInt64(framesFreeAtBoot)).end()
  Machine.exitQEMU(DebugExit.allEnvsExited)
}
