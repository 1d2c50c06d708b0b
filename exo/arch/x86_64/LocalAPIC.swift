// The local APIC (xAPIC, MMIO): its one-shot timer ends each time slice.
// Calibrated once at boot against the PIT, so a slice is a fixed span of
// time; under QEMU's -icount the APIC counts guest instructions, so a slice
// becomes an exact instruction budget.
import X86

enum LocalAPIC {
  static let timerVector: UInt64 = 0x20
  static let spuriousVector: UInt64 = 0xff

  private static let physicalBase: UInt64 = 0xfee0_0000
  private static var registers: UnsafeMutableRawPointer { Machine.physical(physicalBase) }

  private static func read(_ offset: Int) -> UInt32 {
    registers.advanced(by: offset).assumingMemoryBound(to: UInt32.self).pointee
  }
  private static func write(_ offset: Int, _ value: UInt32) {
    registers.advanced(by: offset).assumingMemoryBound(to: UInt32.self).pointee = value
  }

  /// APIC timer ticks (divide by 1) and TSC ticks per millisecond.
  nonisolated(unsafe) private(set) static var ticksPerMillisecond: UInt32 = 0
  nonisolated(unsafe) private(set) static var tscPerMillisecond: UInt64 = 0

  static func initialize() {
    Machine.uncacheDirectMap(physicalBase)
    x86_wrmsr(0x1b, x86_rdmsr(0x1b) | (1 << 11))  // xAPIC enabled
    write(0xf0, 0x100 | UInt32(spuriousVector))  // software enable, spurious vector
    write(0x3e0, 0xb)  // divide by 1
    write(0x320, 1 << 16)  // timer masked until a slice starts
    calibrate()
  }

  /// An eighth of a millisecond of PIT channel 2 (149 ticks at 1.193182
  /// MHz) measures the APIC timer and the TSC together, precise to about
  /// 0.7 %. Under TCG on a busy host the virtual CPU can lose the host CPU
  /// for milliseconds inside a window, which only ever makes it look
  /// longer (it once made slices 14 times too long), so windows are taken
  /// until the two shortest agree within 1 % (at most 8), and the shortest
  /// counts. Under -icount, where the wait is counted in instructions and
  /// nothing is lost, two windows agree at once.
  private static func calibrate() {
    var shortest = measureWindow()
    var second = (apic: UInt64.max, tsc: UInt64.max)
    for _ in 1..<8 {
      let window = measureWindow()
      if window.tsc < shortest.tsc {
        second = shortest
        shortest = window
      } else if window.tsc < second.tsc {
        second = window
      }
      if second.tsc - shortest.tsc <= shortest.tsc / 100 { break }
    }
    let pitHertz: UInt64 = 1_193_182
    let perMillisecond = { (elapsed: UInt64) in max(elapsed * pitHertz / (UInt64(pitTicks) * 1000), 1) }
    ticksPerMillisecond = UInt32(truncatingIfNeeded: min(perMillisecond(shortest.apic), UInt64(UInt32.max)))
    tscPerMillisecond = perMillisecond(shortest.tsc)
  }

  private static let pitTicks: UInt16 = 149

  /// APIC timer ticks and TSC ticks during one run of PIT channel 2 in
  /// mode 0 (its OUT bit, read in port 0x61, rises at the terminal count).
  private static func measureWindow() -> (apic: UInt64, tsc: UInt64) {
    x86_outb(0x61, (x86_inb(0x61) & ~0x02) | 0x01)  // gate on, speaker off
    x86_outb(0x43, 0xb0)  // channel 2, lobyte/hibyte, mode 0
    x86_outb(0x42, UInt8(truncatingIfNeeded: pitTicks))
    x86_outb(0x42, UInt8(truncatingIfNeeded: pitTicks >> 8))
    let gate = x86_inb(0x61)
    x86_outb(0x61, gate & ~0x01)  // restart the count
    x86_outb(0x61, gate | 0x01)
    write(0x380, UInt32.max)
    let tsc0 = x86_rdtsc()
    while x86_inb(0x61) & 0x20 == 0 {}
    let left = read(0x390)
    let tsc1 = x86_rdtsc()
    write(0x380, 0)
    return (UInt64(UInt32.max - left), tsc1 &- tsc0)
  }

  /// Interrupts once after `ticks` APIC ticks.
  static func startOneShot(ticks: UInt32) {
    write(0x320, UInt32(timerVector))
    write(0x380, max(ticks, 1))
  }

  static func endOfInterrupt() { write(0xb0, 0) }
}
