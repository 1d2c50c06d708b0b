// Entering ring 3, the one way out of the kernel: every return rebuilds
// RFLAGS from a mask (never IOPL), forces the user selectors, checks the
// return address, and switches CR3 and the FP/SSE state when the env changes.
import SecureBindings
import X86

enum UserMode {
  /// CF, PF, AF, ZF, SF, TF, DF, OF, AC, ID: what an env may set in RFLAGS.
  static let userFlags: UInt64 = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x4_0000 | 0x20_0000
  static let interruptFlag: UInt64 = 0x200
  static let syscallVector: UInt64 = 256

  /// Whose FP/SSE state is in the registers now; the kernel itself never
  /// touches them (built with -mno-sse), so they are saved only on a switch.
  /// A C global: trap.S's transfer fast path hands the registers over too.
  private static var loadedFPU: UnsafeMutablePointer<FPUState>? {
    get { UnsafeMutablePointer(bitPattern: UInt(x86_fpu_loaded())) }
    set { x86_set_fpu_loaded(UInt64(UInt(bitPattern: newValue))) }
  }

  /// The running env (`running_env`, which is also its transfer record,
  /// and its id for SYSCALL's fast path, `syscall_env_id`).
  static var runningEnv: UnsafeMutablePointer<Env>? {
    get { UnsafeMutablePointer(bitPattern: UInt(x86_running_env())) }
    set { x86_set_running(UnsafeMutableRawPointer(newValue)?.assumingMemoryBound(to: EnvTransfer.self)) }
  }

  /// Whose turn it is (`turn_owner`, which trap.S's reply to a send reads).
  static var turnOwner: UnsafeMutablePointer<Env>? {
    get { UnsafeMutablePointer(bitPattern: UInt(x86_turn_owner())) }
    set { x86_set_turn_owner(UInt64(UInt(bitPattern: newValue))) }
  }

  /// The FP image every activation starts from: zero registers, FNINIT's
  /// control word, every SSE exception masked (filled at boot).
  static var cleanFPU: UnsafeMutablePointer<FPUState> {
    UnsafeMutablePointer(bitPattern: UInt(x86_fpu_clean_address()))!
  }

  /// Where SYSCALL (trap.S) and the CPU push the next entry's frame: TSS.RSP0.
  private static var entryFrameTop: UInt64 {
    get { x86_entry_frame_top() }
    set { x86_set_entry_frame_top(newValue) }
  }

  static var emptyRegisters: UserRegisters { UserRegisters() }

  static func initialRegisters(entry: UInt64, stack: UInt64, arguments: (UInt64, UInt64, UInt64)) -> UserRegisters {
    var r = UserRegisters()
    r.rip = entry
    r.rsp = stack
    r.rdi = arguments.0
    r.rsi = arguments.1
    r.rdx = arguments.2
    r.rflags = interruptFlag
    return r
  }

  /// FNINIT's state with every SSE exception masked.
  static func initializeFPU(_ area: UnsafeMutablePointer<FPUState>) {
    let raw = UnsafeMutableRawPointer(area)
    raw.initializeMemory(as: UInt8.self, repeating: 0, count: 512)
    raw.storeBytes(of: 0x037f, toByteOffset: 0, as: UInt16.self)
    raw.storeBytes(of: 0x1f80, toByteOffset: 24, as: UInt32.self)
  }

  static func forgetFPU(_ area: UnsafeMutablePointer<FPUState>) {
    if loadedFPU == area { loadedFPU = nil }
  }

  /// Whether `rip` may be returned to: canonical and in the user half.
  static func isUserAddress(_ rip: UInt64) -> Bool { rip < UserSpace.top }

  /// Back into the kernel's idle loop after the tick that ended a halt.
  static func returnToKernel(_ frame: UnsafeMutablePointer<UserRegisters>) -> Never { exo_resume(frame) }

  /// Back to the env that made a kernel call or took an upcall, with
  /// nothing switched.
  static func returnToCaller(_ registers: UnsafeMutablePointer<UserRegisters>) -> Never {
    registers.pointee.rflags = (registers.pointee.rflags & userFlags) | interruptFlag
    exo_resume(registers)
  }

  /// Back to the env after its kernel call: by SYSRET, which gives up RCX
  /// and R11 as the ABI does, when RIP is canonical (SYSRET to a
  /// non-canonical RIP faults in ring 0 on Intel CPUs); else by IRETQ.
  static func returnFromCall(_ registers: UnsafeMutablePointer<UserRegisters>) -> Never {
    registers.pointee.rflags = (registers.pointee.rflags & userFlags) | interruptFlag
    if isUserAddress(registers.pointee.rip) { exo_sysret(registers) }
    exo_resume(registers)
  }

  /// Tells trap.S's exception fast path about the running env's upcall;
  /// nil `shared` means the env has no handler.
  static func setUpcall(shared: UnsafeMutableRawPointer?, entry: UInt64, stack: UInt64, argument: UInt64) {
    x86_set_upcall(UInt64(UInt(bitPattern: shared)), entry, stack, argument)
  }

  static func enter(
    _ registers: UnsafeMutablePointer<UserRegisters>, space: AddressSpace, fpu: UnsafeMutablePointer<FPUState>
  ) -> Never {
    registers.pointee.cs = Selector.userCode
    registers.pointee.ss = Selector.userData
    registers.pointee.rflags = (registers.pointee.rflags & userFlags) | interruptFlag
    // The next entry from ring 3 pushes its frame into this env's slot.
    let top = UInt64(UInt(bitPattern: registers + 1))
    if entryFrameTop != top { entryFrameTop = top }
    space.activate()
    if loadedFPU != fpu {
      if let previous = loadedFPU { x86_fxsave(previous) }
      x86_fxrstor(fpu)
      loadedFPU = fpu
    }
    exo_resume(registers)
  }
}

extension UserRegisters {
  var isFromUserMode: Bool { cs & 3 == 3 }

  /// Sends the env to an upcall entry: only what the upcall needs changes
  /// (RIP, RSP, RDI and RFLAGS with DF clear); the other registers are the
  /// env's own and carry nothing of the kernel's.
  /// The upcall's entry state, as trap.S's exception fast path leaves it:
  /// RDI = the shared page, RAX = the vector the slot holds.
  mutating func redirect(to entry: UInt64, stack: UInt64, argument: UInt64, vector: UInt64) {
    rip = entry
    rsp = stack
    rdi = argument
    rax = vector
    rflags = UserMode.interruptFlag
  }
  var isKernelCall: Bool { vector == UserMode.syscallVector }
  var trapVector: UInt64 { vector }
  var errorCode: UInt64 { error }
  var instructionPointer: UInt64 { rip }
  var callNumber: UInt64 { rax }
  var arguments: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) { (rdi, rsi, rdx, r10, r8, r9) }

  /// An activation's start, as trap.S's fast path makes it: its entry and
  /// stack, the caller's id and three words in RDI, RSI, RDX and R10 (the
  /// kernel-call ABI's registers), RCX and R11 as SYSRET leaves them (the
  /// entry, RFLAGS), and zero in every other register.
  mutating func startActivation(entry: UInt64, stack: UInt64, words: (UInt64, UInt64, UInt64, UInt64)) {
    self = UserRegisters()
    rip = entry
    rsp = stack
    rflags = UserMode.interruptFlag
    rdi = words.0
    rsi = words.1
    rdx = words.2
    r10 = words.3
    rcx = entry
    r11 = rflags
  }

  mutating func setResult(status: UInt64, value: UInt64) {
    rax = status
    rdx = value
  }

  /// This machine kind's nested KVM (kvm_pvm) performs a ring-3 SYSCALL
  /// without raising CPL: RCX and R11 are loaded and RIP jumps to LSTAR, whose
  /// fetch then page-faults in user mode. Such a fault is, to the letter, the
  /// env asking for a kernel call, so it becomes one. An env that jumps to the
  /// entry itself gains nothing: it gets the call it could have made, and
  /// RCX must still be a user address to return to.
  mutating func recoverSyscallFault() {
    let entry = x86_syscall_entry_address()
    let userInstructionFetch: UInt64 = 0x15  // present, user, instruction fetch
    guard vector == Vectors.pageFault, rip == entry, error & userInstructionFetch == userInstructionFetch,
      x86_read_cr2() == entry, UserMode.isUserAddress(rcx)
    else { return }
    vector = UserMode.syscallVector
    error = 0
    rip = rcx
    rflags = r11
  }

  /// Writes what an exception upcall hands the env: the trap, CR2 and every
  /// general register, at the offsets of `ExceptionSlot`.
  func save(into page: UnsafeMutableRawPointer) {
    page.storeBytes(of: vector, toByteOffset: ExceptionSlot.vector, as: UInt64.self)
    page.storeBytes(of: error, toByteOffset: ExceptionSlot.error, as: UInt64.self)
    page.storeBytes(of: x86_read_cr2(), toByteOffset: ExceptionSlot.faultAddress, as: UInt64.self)
    page.storeBytes(of: rip, toByteOffset: ExceptionSlot.rip, as: UInt64.self)
    page.storeBytes(of: rflags, toByteOffset: ExceptionSlot.rflags, as: UInt64.self)
    page.storeBytes(of: rsp, toByteOffset: ExceptionSlot.rsp, as: UInt64.self)
    let general = (rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15)
    withUnsafeBytes(of: general) { bytes in
      page.advanced(by: ExceptionSlot.generalRegisters).copyMemory(
        from: bytes.baseAddress!, byteCount: ExceptionSlot.generalRegisterCount * 8)
    }
  }

  /// CR2 at the time of the trap (meaningful for #PF).
  static var faultAddress: UInt64 { x86_read_cr2() }
}
