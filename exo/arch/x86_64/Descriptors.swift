// GDT, TSS, IDT, the SYSCALL MSRs and the PIC: the CPU's protection tables,
// set up once at boot. The GDT itself is static in boot.S; here we add the
// TSS descriptor and reload it at its higher-half address.
import X86

enum Selector {
  static let kernelCode: UInt64 = 0x08
  static let userData: UInt64 = 0x18 | 3
  static let userCode: UInt64 = 0x20 | 3
  static let tss: UInt16 = 0x28
}

enum Descriptors {
  static func install() {
    installTSS()
    installIDT()
    installSyscall()
    remapAndMaskPIC()
  }

  /// RSP0 and SYSCALL share the one kernel stack; #DF, NMI and #MC get IST stacks.
  /// The I/O-map base equals the limit + 1, so no I/O bitmap exists and
  /// every port is closed to ring 3.
  private static func installTSS() {
    let tss = Machine.kernelPointer(x86_tss_address())
    let stackTop = x86_kernel_stack_top()
    let ist = x86_ist_stacks_address()
    tss.storeBytes(of: stackTop, toByteOffset: 4, as: UInt64.self)
    for i in 0..<3 {
      tss.storeBytes(of: ist + UInt64(i + 1) * 4096, toByteOffset: 36 + i * 8, as: UInt64.self)
    }
    let limit: UInt64 = 103
    tss.storeBytes(of: UInt16(limit + 1), toByteOffset: 102, as: UInt16.self)

    let base = x86_tss_address()
    var low = limit & 0xffff
    low |= (base & 0xff_ffff) << 16
    low |= 0x89 << 40  // present, 64-bit TSS (available)
    low |= ((limit >> 16) & 0xf) << 48
    low |= ((base >> 24) & 0xff) << 56
    let gdt = Machine.kernelPointer(x86_gdt_address())
    gdt.storeBytes(of: low, toByteOffset: 5 * 8, as: UInt64.self)
    gdt.storeBytes(of: base >> 32, toByteOffset: 6 * 8, as: UInt64.self)
    x86_lgdt(x86_gdt_address(), 7 * 8 - 1)
    x86_ltr(Selector.tss)
  }

  /// Every vector is an interrupt gate of DPL 0, so `int n` from ring 3 is a #GP.
  private static func installIDT() {
    let idt = Machine.kernelPointer(x86_idt_address())
    for vector in 0..<256 {
      let handler = x86_vector_stubs_address() + UInt64(vector) * 16
      let ist: UInt64
      switch vector {
      case 8: ist = 1
      case 2: ist = 2
      case 18: ist = 3
      default: ist = 0
      }
      var low = handler & 0xffff
      low |= Selector.kernelCode << 16
      low |= ist << 32
      low |= 0x8e << 40
      low |= ((handler >> 16) & 0xffff) << 48
      idt.storeBytes(of: low, toByteOffset: vector * 16, as: UInt64.self)
      idt.storeBytes(of: handler >> 32, toByteOffset: vector * 16 + 8, as: UInt64.self)
    }
    x86_lidt(x86_idt_address(), 256 * 16 - 1)
  }

  private static func installSyscall() {
    x86_wrmsr(0xC000_0081, (0x10 << 48) | (Selector.kernelCode << 32))  // STAR: SYSRET bases at 0x10
    x86_wrmsr(0xC000_0082, x86_syscall_entry_address())  // LSTAR
    x86_wrmsr(0xC000_0083, x86_syscall_compat_entry_address())  // CSTAR
    // FMASK: clear TF, IF, DF, IOPL, NT and AC on entry.
    x86_wrmsr(0xC000_0084, 0x100 | 0x200 | 0x400 | 0x3000 | 0x4000 | 0x40000)
  }

  /// The 8259s still deliver IRQ0 on vector 8 after the Multiboot hand-off:
  /// move them to 0x20/0x28 and mask every line before IF is ever set.
  private static func remapAndMaskPIC() {
    x86_outb(0x20, 0x11); x86_outb(0xa0, 0x11)
    x86_outb(0x21, 0x20); x86_outb(0xa1, 0x28)
    x86_outb(0x21, 0x04); x86_outb(0xa1, 0x02)
    x86_outb(0x21, 0x01); x86_outb(0xa1, 0x01)
    x86_outb(0x21, 0xff); x86_outb(0xa1, 0xff)
  }
}

extension Machine {
  /// A kernel symbol's address as a pointer (the kernel runs in the top 2 GiB).
  static func kernelPointer(_ address: UInt64) -> UnsafeMutableRawPointer {
    UnsafeMutableRawPointer(bitPattern: UInt(address))!
  }
}
