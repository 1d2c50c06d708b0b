// PCI configuration space through the legacy ports 0xCF8/0xCFC: enough to
// find one device on bus 0, read its I/O BAR and interrupt line, and let it
// decode I/O and master the bus. The firmware (SeaBIOS) has already
// assigned BARs and routed interrupt lines before the kernel runs.
import X86

struct PCIDevice {
  let slot: UInt32
  let function: UInt32

  private func address(_ offset: UInt32) -> UInt32 {
    0x8000_0000 | slot << 11 | function << 8 | (offset & 0xfc)
  }

  func read32(_ offset: UInt32) -> UInt32 {
    x86_outl(0xcf8, address(offset))
    return x86_inl(0xcfc)
  }

  func write32(_ offset: UInt32, _ value: UInt32) {
    x86_outl(0xcf8, address(offset))
    x86_outl(0xcfc, value)
  }

  var vendor: UInt16 { UInt16(truncatingIfNeeded: read32(0)) }
  var device: UInt16 { UInt16(truncatingIfNeeded: read32(0) >> 16) }

  /// BAR `index` when it decodes I/O ports, else nil.
  func ioBase(bar index: UInt32) -> UInt16? {
    let bar = read32(0x10 + 4 * index)
    guard bar & 1 == 1, bar & ~3 != 0, bar & ~3 <= 0xffff else { return nil }
    return UInt16(bar & ~3)
  }

  /// The ISA line the firmware routed INTA# to (the Interrupt Line register).
  var interruptLine: UInt8 { UInt8(truncatingIfNeeded: read32(0x3c)) }

  /// Command register: I/O space on, bus master on (the device DMAs into the rings), INTx on.
  func enableIOAndBusMaster() {
    let command = read32(0x04) & 0xffff
    write32(0x04, (command | 0x1 | 0x4) & ~UInt32(0x400))
  }

  /// The first function-0 device on bus 0 with this vendor and device id.
  static func find(vendor: UInt16, device: UInt16) -> PCIDevice? {
    for slot: UInt32 in 0..<32 {
      let candidate = PCIDevice(slot: slot, function: 0)
      if candidate.vendor == vendor && candidate.device == device { return candidate }
    }
    return nil
  }
}
