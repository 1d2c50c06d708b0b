// The env's fields a protected control transfer touches live in its record
// (include/transfer.h), which trap.S's fast path reads and writes too; these
// accessors are how the Swift kernel reaches them, so there is one copy.
import SecureBindings
import X86

typealias EnvTransfer = env_transfer

extension EnvTransfer {
  /// All zero: state free, no slots yet.
  static var empty: EnvTransfer { EnvTransfer() }

  /// Tells trap.S where each env id's record is: the first `count` Envs of
  /// the table (id i + 1 at slot i), the free record for every other id.
  /// The record must be at the Env's own address, where trap.S and
  /// `UserMode.runningEnv` take it to be: a layout that put it elsewhere
  /// stops the boot here.
  static func publish(_ slots: UnsafeMutablePointer<Env>, count: Int) {
    for id in 0...Int(ENV_MAX) { x86_set_env_record(UInt64(id), nil) }
    for i in 0..<count {
      let env = slots + i
      guard UnsafeMutableRawPointer(env) == UnsafeMutableRawPointer(&env.pointee.transfer) else {
        panic("the transfer record is not at its Env's address")
      }
      x86_set_env_record(UInt64(i + 1), UnsafeMutableRawPointer(env).assumingMemoryBound(to: EnvTransfer.self))
    }
  }
}

extension Env {
  /// Fills the record at table setup: the env's id and its two register slots and FP areas.
  mutating func attachTransfer(
    id: EnvID, registers: UnsafeMutablePointer<UserRegisters>, fpu: UnsafeMutablePointer<FPUState>
  ) {
    transfer.id = UInt64(id.raw)
    transfer.main_registers = Self.address(registers)
    transfer.activation_registers = Self.address(registers + 1)
    transfer.main_fpu = Self.address(fpu)
    transfer.activation_fpu = Self.address(fpu + 1)
    transfer.registers = transfer.main_registers
    transfer.fpu = transfer.main_fpu
    sharedFrame = Frame(number: 0)
  }

  private static func address<T>(_ p: UnsafeMutablePointer<T>) -> UInt64 { UInt64(UInt(bitPattern: p)) }
  /// Set once at table setup, never 0: no check on the way.
  private static func pointer<T>(_ a: UInt64) -> UnsafeMutablePointer<T> {
    UnsafeMutablePointer(bitPattern: UInt(a)).unsafelyUnwrapped
  }
  private static func envID(_ raw: UInt64) -> EnvID? { raw == 0 ? nil : EnvID(UInt16(truncatingIfNeeded: raw)) }

  var id: EnvID { EnvID(UInt16(truncatingIfNeeded: transfer.id)) }

  /// Read on every pass over the table (the slice vector, event wakeups):
  /// the record holds only values this setter wrote, so the tag is read as
  /// it is (a payload-free enum's tags are its cases in order, = raw values).
  var state: EnvState {
    get { unsafeBitCast(UInt8(truncatingIfNeeded: transfer.state), to: EnvState.self) }
    set { transfer.state = newValue.rawValue }
  }

  var space: AddressSpace {
    get { AddressSpace(root: transfer.cr3) }
    set { transfer.cr3 = newValue.root }
  }

  /// The saved user state of the context that runs next for this env: its
  /// main context, or its activation serving a protected control transfer.
  /// Kernel entries push it here directly (trap.S): the top of this slot is
  /// the entry stack while the context runs.
  var registers: UnsafeMutablePointer<UserRegisters> { Self.pointer(transfer.registers) }
  /// FXSAVE image of that context, 16-byte aligned.
  var fpu: UnsafeMutablePointer<FPUState> { Self.pointer(transfer.fpu) }
  var mainRegisters: UnsafeMutablePointer<UserRegisters> { Self.pointer(transfer.main_registers) }
  var mainFPU: UnsafeMutablePointer<FPUState> { Self.pointer(transfer.main_fpu) }
  var activationRegisters: UnsafeMutablePointer<UserRegisters> {
    Self.pointer(transfer.activation_registers)
  }
  var activationFPU: UnsafeMutablePointer<FPUState> { Self.pointer(transfer.activation_fpu) }

  var inActivation: Bool { transfer.registers == transfer.activation_registers }

  mutating func useMain() {
    transfer.registers = transfer.main_registers
    transfer.fpu = transfer.main_fpu
  }

  mutating func useActivation() {
    transfer.registers = transfer.activation_registers
    transfer.fpu = transfer.activation_fpu
  }

  /// Protected control transfer (`pct_listen`): the entry, its stack, and a
  /// bit per env id allowed to call.
  var pctEntry: UInt64 {
    get { transfer.pct_entry }
    set { transfer.pct_entry = newValue }
  }
  var pctStack: UInt64 {
    get { transfer.pct_stack }
    set { transfer.pct_stack = newValue }
  }
  var pctCallers: UInt64 {
    get { transfer.pct_callers }
    set { transfer.pct_callers = newValue }
  }

  /// The caller this env's activation is serving, if any, and whether that
  /// caller sent the call asynchronously (`pct_send`: no one waits for the reply).
  /// One word (transfer.h's SERVING_ASYNC above the id), so that the
  /// assembly sets and clears both with one store.
  var serving: EnvID? {
    get { Self.envID(transfer.serving & 0xff) }
    set { transfer.serving = (transfer.serving & Self.servingAsyncFlag) | UInt64(newValue?.raw ?? 0) }
  }
  var servingAsync: Bool {
    get { transfer.serving & Self.servingAsyncFlag != 0 }
    set { transfer.serving = (transfer.serving & ~Self.servingAsyncFlag) | (newValue ? Self.servingAsyncFlag : 0) }
  }
  private static var servingAsyncFlag: UInt64 { UInt64(SERVING_ASYNC) }
  /// The callee this env's main context waits on in a synchronous call.
  var waitingOn: EnvID? {
    get { Self.envID(transfer.waiting_on) }
    set { transfer.waiting_on = UInt64(newValue?.raw ?? 0) }
  }

  /// The exception upcall (`set_exception_handler`); no handler when `entry` is 0.
  var exceptionEntry: UInt64 {
    get { transfer.exception_entry }
    set {
      transfer.exception_entry = newValue
      publishShared()
    }
  }
  var exceptionStack: UInt64 {
    get { transfer.exception_stack }
    set { transfer.exception_stack = newValue }
  }
  var sharedPageAddress: UInt64 {
    get { transfer.shared_page }
    set { transfer.shared_page = newValue }
  }
  /// Kept as the frame's direct-map address, which trap.S publishes for the
  /// exception fast path on a transfer.
  var sharedFrame: Frame {
    get { Frame(number: (transfer.shared_kernel &- Machine.directMapBase) >> 12) }
    set {
      transfer.shared_kernel = UInt64(UInt(bitPattern: Machine.physical(newValue.physicalAddress)))
      publishShared()
    }
  }

  /// The exception fast path's word: the shared frame with a handler, else
  /// upcall_none (which reads as "upcalls disabled").
  private mutating func publishShared() {
    transfer.upcall_shared = transfer.exception_entry != 0 ? transfer.shared_kernel : x86_upcall_none_address()
  }
}
