// The x86_64 machine as the rest of the kernel sees it: the serial console,
// physical memory through the direct map, QEMU's exit port, halting. Generic
// kernel code calls these and never imports X86 itself.
import SecureBindings
import X86

/// The CPU state a trap saves for an env (layout fixed by trap.S).
typealias UserRegisters = trap_frame
/// An env's FP/SSE state (FXSAVE image).
typealias FPUState = fx_area

enum Machine {
  /// Physical memory 0..4 GiB is mapped here (boot.S, PML4 slot 256).
  static let directMapBase: UInt64 = 0xffff_8000_0000_0000
  static let directMapSize: UInt64 = 4 << 30

  static func physical(_ address: UInt64) -> UnsafeMutableRawPointer {
    UnsafeMutableRawPointer(bitPattern: UInt(directMapBase &+ address))!
  }

  /// `physical` without the nil check: for an address the kernel took from
  /// its own tables (a page-table entry it wrote), never from an env.
  @inline(__always)
  static func physicalUnchecked(_ address: UInt64) -> UnsafeMutableRawPointer {
    UnsafeMutableRawPointer(bitPattern: UInt(directMapBase &+ address)).unsafelyUnwrapped
  }

  static func tsc() -> UInt64 { x86_rdtsc() }
  static var kernelEntryTSC: UInt64 { x86_kernel_entry_tsc() }
  /// The TSC when the latest interrupt entered the kernel (trap.S).
  static var interruptTSC: UInt64 { x86_interrupt_tsc() }

  /// The kernel image's physical extent, .bss included.
  static var kernelPhysicalRange: Range<UInt64> { x86_kernel_phys_start()..<x86_kernel_phys_end() }
  static var arena: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: UInt(x86_boot_arena_address()))! }
  static let arenaSize = 512 * 1024

  static func frameOwnerStorage() -> UnsafeMutableBufferPointer<UInt16> {
    UnsafeMutableBufferPointer(
      start: UnsafeMutablePointer(bitPattern: UInt(x86_frame_owners_address())), count: Limits.maxFrames)
  }
  static func frameStackStorage() -> UnsafeMutableBufferPointer<UInt32> {
    UnsafeMutableBufferPointer(
      start: UnsafeMutablePointer(bitPattern: UInt(x86_frame_free_stack_address())), count: Limits.maxFrames)
  }

  static func frameGenerationStorage() -> UnsafeMutableBufferPointer<UInt16> {
    UnsafeMutableBufferPointer(
      start: UnsafeMutablePointer(bitPattern: UInt(x86_frame_generations_address())), count: Limits.maxFrames)
  }
  static func frameUseStorage() -> UnsafeMutableBufferPointer<UInt32> {
    UnsafeMutableBufferPointer(
      start: UnsafeMutablePointer(bitPattern: UInt(x86_frame_uses_address())), count: Limits.maxFrames)
  }

  static func zeroFrame(_ frame: Frame) {
    physical(frame.physicalAddress).initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
  }

  /// Ends the QEMU run through isa-debug-exit; QEMU's status is (value << 1) | 1.
  static func exitQEMU(_ value: UInt8) -> Never {
    x86_outb(DebugExit.port, value)
    while true { x86_hlt() }
  }

  /// The 2 MiB direct-map page holding MMIO registers must not be cached.
  static func uncacheDirectMap(_ physical: UInt64) {
    let directory = UnsafeMutablePointer<UInt64>(bitPattern: UInt(x86_boot_pd_address()))!
    directory[Int(physical >> 21)] |= (1 << 3) | (1 << 4)  // PWT, PCD
    x86_invlpg(directMapBase + (physical & ~0x1f_ffff))
  }

  /// Halts until the next interrupt (the kernel otherwise runs with them off).
  static func idle() { x86_idle() }
  /// A spin-wait's step (PAUSE): polling a device that works in another thread.
  static func relax() { x86_pause() }

}

