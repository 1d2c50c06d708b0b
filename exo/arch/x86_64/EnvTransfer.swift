// The env's fields a protected control transfer touches live in its record
// (include/transfer.h), which trap.S's fast path reads and writes too; these
// accessors are how the Swift kernel reaches them, so there is one copy.
import SecureBindings
import X86

typealias EnvTransfer = env_transfer

extension EnvTransfer {
  /// Env `id`'s record (storage.S).
  static func record(_ id: EnvID) -> UnsafeMutablePointer<EnvTransfer> { x86_env_transfer(UInt64(id.raw)) }
}

extension Env {
  /// Fills the record at table setup: the env's id and its two register slots and FP areas.
  func attachTransfer(id: EnvID, registers: UnsafeMutablePointer<UserRegisters>, fpu: UnsafeMutablePointer<FPUState>) {
    let t = transfer
    t.pointee.id = UInt64(id.raw)
    t.pointee.main_registers = Self.address(registers)
    t.pointee.activation_registers = Self.address(registers + 1)
    t.pointee.main_fpu = Self.address(fpu)
    t.pointee.activation_fpu = Self.address(fpu + 1)
    t.pointee.registers = t.pointee.main_registers
    t.pointee.fpu = t.pointee.main_fpu
    sharedFrame = Frame(number: 0)
  }

  /// Where the record's env lives, once the table has placed it.
  func pointRecordHere(_ slot: UnsafeMutablePointer<Env>) { transfer.pointee.env = Self.address(slot) }

  private static func address<T>(_ p: UnsafeMutablePointer<T>) -> UInt64 { UInt64(UInt(bitPattern: p)) }
  /// Set once at table setup, never 0: no check on the way.
  private static func pointer<T>(_ a: UInt64) -> UnsafeMutablePointer<T> {
    UnsafeMutablePointer(bitPattern: UInt(a)).unsafelyUnwrapped
  }
  private static func envID(_ raw: UInt64) -> EnvID? { raw == 0 ? nil : EnvID(UInt16(truncatingIfNeeded: raw)) }

  /// Read on every pass over the table (the slice vector, event wakeups):
  /// the record holds only values this setter wrote, so the tag is read as
  /// it is (a payload-free enum's tags are its cases in order, = raw values).
  var state: EnvState {
    get { unsafeBitCast(UInt8(truncatingIfNeeded: transfer.pointee.state), to: EnvState.self) }
    nonmutating set { transfer.pointee.state = newValue.rawValue }
  }

  var space: AddressSpace {
    get { AddressSpace(root: transfer.pointee.cr3) }
    nonmutating set { transfer.pointee.cr3 = newValue.root }
  }

  /// The saved user state of the context that runs next for this env: its
  /// main context, or its activation serving a protected control transfer.
  /// Kernel entries push it here directly (trap.S): the top of this slot is
  /// the entry stack while the context runs.
  var registers: UnsafeMutablePointer<UserRegisters> { Self.pointer(transfer.pointee.registers) }
  /// FXSAVE image of that context, 16-byte aligned.
  var fpu: UnsafeMutablePointer<FPUState> { Self.pointer(transfer.pointee.fpu) }
  var mainRegisters: UnsafeMutablePointer<UserRegisters> { Self.pointer(transfer.pointee.main_registers) }
  var mainFPU: UnsafeMutablePointer<FPUState> { Self.pointer(transfer.pointee.main_fpu) }
  var activationRegisters: UnsafeMutablePointer<UserRegisters> {
    Self.pointer(transfer.pointee.activation_registers)
  }
  var activationFPU: UnsafeMutablePointer<FPUState> { Self.pointer(transfer.pointee.activation_fpu) }

  var inActivation: Bool { transfer.pointee.registers == transfer.pointee.activation_registers }

  func useMain() {
    transfer.pointee.registers = transfer.pointee.main_registers
    transfer.pointee.fpu = transfer.pointee.main_fpu
  }

  func useActivation() {
    transfer.pointee.registers = transfer.pointee.activation_registers
    transfer.pointee.fpu = transfer.pointee.activation_fpu
  }

  /// Protected control transfer (`pct_listen`): the entry, its stack, and a
  /// bit per env id allowed to call.
  var pctEntry: UInt64 {
    get { transfer.pointee.pct_entry }
    nonmutating set { transfer.pointee.pct_entry = newValue }
  }
  var pctStack: UInt64 {
    get { transfer.pointee.pct_stack }
    nonmutating set { transfer.pointee.pct_stack = newValue }
  }
  var pctCallers: UInt64 {
    get { transfer.pointee.pct_callers }
    nonmutating set { transfer.pointee.pct_callers = newValue }
  }

  /// The caller this env's activation is serving, if any, and whether that
  /// caller sent the call asynchronously (`pct_send`: no one waits for the reply).
  var serving: EnvID? {
    get { Self.envID(transfer.pointee.serving) }
    nonmutating set { transfer.pointee.serving = UInt64(newValue?.raw ?? 0) }
  }
  var servingAsync: Bool {
    get { transfer.pointee.serving_async != 0 }
    nonmutating set { transfer.pointee.serving_async = newValue ? 1 : 0 }
  }
  /// The callee this env's main context waits on in a synchronous call.
  var waitingOn: EnvID? {
    get { Self.envID(transfer.pointee.waiting_on) }
    nonmutating set { transfer.pointee.waiting_on = UInt64(newValue?.raw ?? 0) }
  }

  /// The exception upcall (`set_exception_handler`); no handler when `entry` is 0.
  var exceptionEntry: UInt64 {
    get { transfer.pointee.exception_entry }
    nonmutating set {
      transfer.pointee.exception_entry = newValue
      publishShared()
    }
  }
  var exceptionStack: UInt64 {
    get { transfer.pointee.exception_stack }
    nonmutating set { transfer.pointee.exception_stack = newValue }
  }
  var sharedPageAddress: UInt64 {
    get { transfer.pointee.shared_page }
    nonmutating set { transfer.pointee.shared_page = newValue }
  }
  /// Kept as the frame's direct-map address, which trap.S publishes for the
  /// exception fast path on a transfer.
  var sharedFrame: Frame {
    get { Frame(number: (transfer.pointee.shared_kernel &- Machine.directMapBase) >> 12) }
    nonmutating set {
      transfer.pointee.shared_kernel = UInt64(UInt(bitPattern: Machine.physical(newValue.physicalAddress)))
      publishShared()
    }
  }

  /// The exception fast path's word: the shared frame with a handler, else
  /// upcall_none (which reads as "upcalls disabled").
  private func publishShared() {
    let t = transfer
    t.pointee.upcall_shared = t.pointee.exception_entry != 0 ? t.pointee.shared_kernel : x86_upcall_none_address()
  }
}
