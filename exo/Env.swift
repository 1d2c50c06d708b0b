// Environments: the kernel's unit of protection. An env is an address
// space, its frames (counted against a quota), its saved registers and FP
// state, and its console line. The table is allocated once at boot.
import SecureBindings

/// Raw values as include/transfer.h spells them for trap.S (ENV_STATE_*).
enum EnvState: UInt64 {
  case free = 0
  case runnable = 1
  /// In `event_wait`: until an event arrives or `wakeAt` passes.
  case blocked = 2
  case exited = 3
  /// `held=1`: its id is taken, nothing is loaded; `env_start` loads it.
  case held = 4
}

struct Env {
  /// What a protected control transfer reads and writes, shared with
  /// trap.S's fast path: the id, the state, the address space, the register
  /// slots and FP areas, the `pct_listen` binding, who serves and waits on
  /// whom, and the exception upcall (EnvTransfer.swift has the accessors).
  /// First, so that it sits at the Env's own address (checked at boot).
  var transfer = EnvTransfer.empty
  var name = InlineArray<16, UInt8>(repeating: 0)
  var nameLength = 0
  var frameQuota: UInt64 = 0
  var framesHeld: UInt64 = 0
  var slices: UInt64 = 0
  /// Slices left in the current turn (SliceVector).
  var slicesLeft: UInt64 = 0
  var line = ConsoleLine()
  /// Upcall at each slice start too (flag of `set_exception_handler`).
  var sliceUpcalls = false
  /// Events: bits other envs have signalled and it has not yet taken, the
  /// envs allowed to signal it (a bit per env id), and while blocked the TSC
  /// deadline it wakes at anyway (0: none).
  var pendingEvents: UInt64 = 0
  var eventSenders: UInt64 = 0
  var wakeAt: UInt64 = 0
  /// Upcall on each event delivery (`event_listen` flag).
  var eventUpcalls = false
  /// Its timers (`timer_arm`).
  var timers = EnvTimers()
  /// Bytes from a bound input device, not yet read (`console_read`).
  var input = InlineArray<256, UInt8>(repeating: 0)
  var inputStart = 0
  var inputCount = 0
  /// The network binding from the boot configuration (MAC 0: none), and the
  /// receive ring attached with `net_attach`: its frames (control page
  /// first) and how many frames the kernel has placed in it.
  var netMAC: UInt64 = 0
  var netIPv4: UInt32 = 0
  /// `dhcp=1`: the IPv4 half comes from the DHCP server's ACK (DHCPBinding).
  var netDHCP = false
  /// The transaction id of the env's latest DHCP request: only an ACK to it binds.
  var dhcpTransaction: UInt32? = nil
  var ringFrames = InlineArray<33, UInt64>(repeating: 0)
  var ringFrameCount = 0
  var ringProduced: UInt64 = 0
  /// Packet filters bound now, and how many it may bind (`filters=` in its boot configuration).
  var filterCount = 0
  var filterQuota = 0
  /// Frames this env has sent (`net_send` accepted), which numbers each send.
  var netSends: UInt64 = 0
  /// Visible revocation: an outstanding `quota_lower` request, and the
  /// frames handed out last, the first a forced repossession takes.
  var reclaim = ReclaimRequest()
  var recent = AllocationLog()
  /// Over-committed quotas (secure-bindings/QuotaShares.swift): the
  /// manifest's `frames`, the lowest `quota_lower` has set, and what the
  /// loader took.
  var manifestQuota: UInt64 = 0
  var quotaCeiling: UInt64 = 0
  var loadedFrames: UInt64 = 0
  /// A held env's module, which `env_start` loads; and whether an
  /// `env_start` has asked for it, which makes its quota count.
  var heldModule = BootModule(start: 0, end: 0, commandLine: 0)
  var startAsked = false

  /// Envs that hold frames or are about to: they share the machine.
  var claimsFrames: Bool { state == .runnable || state == .blocked || (state == .held && startAsked) }

  /// `registers` and `fpu` point at slot `2 * i` and `2 * i + 1` pairs the table owns.
  init(id: EnvID, registers: UnsafeMutablePointer<UserRegisters>, fpu: UnsafeMutablePointer<FPUState>) {
    attachTransfer(id: id, registers: registers, fpu: fpu)
  }
}

/// The env table: slot i holds env id i + 1.
struct EnvTable {
  private(set) var slots: UnsafeMutablePointer<Env>
  private(set) var count = 0

  init() {
    slots = UnsafeMutablePointer<Env>.allocate(capacity: Limits.maxEnvs)
    // Two contexts per env (main, activation). 16-byte aligned (the boot
    // arena aligns every block so), as the CPU aligns RSP0 before it pushes
    // an interrupt frame and FXSAVE needs.
    let fpuAreas = UnsafeMutablePointer<FPUState>.allocate(capacity: 2 * Limits.maxEnvs)
    let registerSlots = UnsafeMutablePointer<UserRegisters>.allocate(capacity: 2 * Limits.maxEnvs)
    UserMode.initializeFPU(UserMode.cleanFPU)
    for i in 0..<2 * Limits.maxEnvs { (registerSlots + i).initialize(to: UserMode.emptyRegisters) }
    for i in 0..<Limits.maxEnvs {
      (slots + i).initialize(
        to: Env(id: EnvID(UInt16(i + 1)), registers: registerSlots + 2 * i, fpu: fpuAreas + 2 * i))
    }
    EnvTransfer.publish(slots, count: Limits.maxEnvs)
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
