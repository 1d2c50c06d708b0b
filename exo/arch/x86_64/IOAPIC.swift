// The I/O APIC: routes a device's ISA interrupt line to a vector on this
// CPU. Only lines some env has bound are unmasked.
import X86

enum IOAPIC {
  private static let physicalBase: UInt64 = 0xfec0_0000
  private static var registers: UnsafeMutableRawPointer { Machine.physical(physicalBase) }

  private static func write(_ register: UInt32, _ value: UInt32) {
    registers.assumingMemoryBound(to: UInt32.self).pointee = register
    registers.advanced(by: 0x10).assumingMemoryBound(to: UInt32.self).pointee = value
  }

  static func initialize() { Machine.uncacheDirectMap(physicalBase) }

  /// Line `irq` (ISA numbering; QEMU's PC maps lines 1-15 one to one) to
  /// `vector` on APIC 0, active high; edge-triggered (ISA devices) or
  /// level-triggered (PCI INTx, which stays raised until the device is
  /// acknowledged); or masked.
  static func route(_ irq: UInt64, to vector: UInt64, enabled: Bool, levelTriggered: Bool = false) {
    let entry = 0x10 + 2 * UInt32(irq)
    write(entry + 1, 0)  // destination: APIC 0
    write(entry, UInt32(vector) | (levelTriggered ? 1 << 15 : 0) | (enabled ? 0 : 1 << 16))
  }
}
