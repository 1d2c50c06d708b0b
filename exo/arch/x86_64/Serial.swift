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
    x86_outb(base + 2, 0xc7)  // FIFO on, cleared
  }

  static func write(_ byte: UInt8) {
    while x86_inb(base + 5) & 0x20 == 0 {}
    x86_outb(base, byte)
  }
}
