// Environments: the kernel's unit of protection. An env is an address
// space, its frames (counted against a quota), its saved registers and FP
// state, and its console line. The table is allocated once at boot.
import SecureBindings

enum EnvState: Equatable {
  case free
  case runnable
  case exited
}

struct Env {
  var id: EnvID
  var state: EnvState = .free
  var name = InlineArray<16, UInt8>(repeating: 0)
  var nameLength = 0
  var space = AddressSpace(root: 0)
  var frameQuota: UInt64 = 0
  var framesHeld: UInt64 = 0
  var slices: UInt64 = 0
  /// Slices left in the current turn (SliceVector).
  var slicesLeft: UInt64 = 0
  /// The saved user state. Kernel entries push it here directly (trap.S):
  /// the top of this slot is the entry stack while the env runs.
  var registers: UnsafeMutablePointer<UserRegisters>
  var line = ConsoleLine()
  /// The exception upcall (`set_exception_handler`); no handler when `entry` is 0.
  var exceptionEntry: UInt64 = 0
  var exceptionStack: UInt64 = 0
  var sharedPageAddress: UInt64 = 0
  var sharedFrame = Frame(number: 0)
  /// FXSAVE image, 16-byte aligned, outside the struct so the table can move nothing.
  var fpu: UnsafeMutablePointer<FPUState>

  init(id: EnvID, registers: UnsafeMutablePointer<UserRegisters>, fpu: UnsafeMutablePointer<FPUState>) {
    self.id = id
    self.registers = registers
    self.fpu = fpu
  }
}

/// The env table: slot i holds env id i + 1.
struct EnvTable {
  private(set) var slots: UnsafeMutablePointer<Env>
  private(set) var count = 0

  init() {
    slots = UnsafeMutablePointer<Env>.allocate(capacity: Limits.maxEnvs)
    let fpuAreas = UnsafeMutablePointer<FPUState>.allocate(capacity: Limits.maxEnvs)
    // 16-byte aligned (the boot arena aligns every block so), as the CPU
    // aligns RSP0 before it pushes an interrupt frame.
    let registerSlots = UnsafeMutablePointer<UserRegisters>.allocate(capacity: Limits.maxEnvs)
    for i in 0..<Limits.maxEnvs {
      (registerSlots + i).initialize(to: UserMode.emptyRegisters)
      (slots + i).initialize(to: Env(id: EnvID(UInt16(i + 1)), registers: registerSlots + i, fpu: fpuAreas + i))
    }
  }

  /// The next unused slot, or nil when the table is full.
  mutating func claim() -> UnsafeMutablePointer<Env>? {
    guard count < Limits.maxEnvs else { return nil }
    count += 1
    return slots + (count - 1)
  }

  /// Gives back the slot claimed last (an env whose image was refused).
  mutating func unclaimLast() { count -= 1; slots[count].state = .free }

  subscript(id: EnvID) -> UnsafeMutablePointer<Env> { slots + Int(id.raw - 1) }

  var anyRunnable: Bool {
    for i in 0..<count where slots[i].state == .runnable { return true }
    return false
  }

  /// The slice vector, for now one slice per env in id order: the runnable
  /// env after `id`, wrapping around, or `id` itself if it alone can run.
  func next(after id: EnvID) -> EnvID? {
    guard count > 0 else { return nil }
    for step in 1...count {
      let slot = (Int(id.raw) - 1 + step) % count
      if slots[slot].state == .runnable { return slots[slot].id }
    }
    return nil
  }
}
