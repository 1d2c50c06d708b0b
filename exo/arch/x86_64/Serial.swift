// COM1, the kernel's only output device: 115200 8N1, polled.
import X86

enum Serial {
  private static let base: UInt16 = 0x3f8

  static func initialize() {
    x86_outb(base + 1, 0x00)  // no serial interrupts
    x86_outb(base + 3, 0x80)  // divisor latch
    x86_outb(base + 0, 0x01)  // 115200 baud
    x86_outb(base + 1, 0x00)
    x86_outb(base + 3, 0x03)  // 8N1
    // FCR is left alone: turning the FIFO on resets it, and would drop
    // what was typed before boot (QEMU holds the rest until the guest reads).
  }

  /// Interrupt on received data (and OUT2, which gates the UART's line on a PC).
  static func enableReceiveInterrupt(_ on: Bool) {
    x86_outb(base + 4, on ? 0x0b : 0x03)
    x86_outb(base + 1, on ? 0x01 : 0x00)
  }

  /// The next received byte, if one is waiting.
  static func read() -> UInt8? {
    x86_inb(base + 5) & 1 != 0 ? x86_inb(base) : nil
  }

  static func write(_ byte: UInt8) {
    while x86_inb(base + 5) & 0x20 == 0 {}
    x86_outb(base, byte)
  }
}
