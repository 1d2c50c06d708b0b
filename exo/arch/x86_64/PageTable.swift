// x86_64 four-level page tables of one env, read and written through the
// direct map. The kernel half of every env's PML4 is copied from the boot
// PML4, so kernel mappings (global pages) are shared by all envs.
import SecureBindings
import X86

struct PageTableEntry {
  static let present: UInt64 = 1 << 0
  static let writable: UInt64 = 1 << 1
  static let user: UInt64 = 1 << 2
  static let largePage: UInt64 = 1 << 7
  static let noExecute: UInt64 = 1 << 63
  static let addressMask: UInt64 = 0x000f_ffff_ffff_f000
}

struct AddressSpace {
  /// Physical address of the PML4.
  let root: UInt64

  private static var kernelRoot: UInt64 { x86_boot_pml4_address() &- 0xffff_ffff_8000_0000 }

  /// Drops the boot identity map: from now on the user half is empty in
  /// the kernel's own PML4, and nothing but envs' tables map it.
  static func dropIdentityMap() {
    Machine.physical(kernelRoot).storeBytes(of: 0, as: UInt64.self)
    let cr4 = x86_read_cr4()
    x86_write_cr4(cr4 & ~(1 << 7))  // toggling PGE flushes global entries too
    x86_write_cr4(cr4)
  }

  static func activateKernelOnly() { x86_write_cr3(kernelRoot) }

  init(root: UInt64) { self.root = root }

  /// A new address space whose PML4 lives in `frame` (zeroed here).
  init(newRootIn frame: Frame) {
    root = frame.physicalAddress
    let table = Machine.physical(root)
    table.initializeMemory(as: UInt8.self, repeating: 0, count: 2048)
    let kernelHalf = Machine.physical(Self.kernelRoot).advanced(by: 2048)
    table.advanced(by: 2048).copyMemory(from: kernelHalf, byteCount: 2048)
  }

  func activate() {
    if x86_read_cr3() & PageTableEntry.addressMask != root { x86_write_cr3(root) }
  }

  private static func index(_ va: UInt64, level: Int) -> Int { Int((va >> (12 + 9 * UInt64(level))) & 511) }

  /// Maps the user page at `va` to `frame`. Missing intermediate tables come
  /// from `newTable`, which hands out zeroed frames charged to the env.
  func map(
    _ va: UInt64, to frame: Frame, writable: Bool, executable: Bool, newTable: () -> Frame?
  ) -> Bool {
    var table = root
    for level in stride(from: 3, to: 0, by: -1) {
      let slot = Machine.physical(table).advanced(by: Self.index(va, level: level) * 8)
      var entry = slot.load(as: UInt64.self)
      if entry & PageTableEntry.present == 0 {
        guard let fresh = newTable() else { return false }
        Machine.physical(fresh.physicalAddress).initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        entry = fresh.physicalAddress | PageTableEntry.present | PageTableEntry.writable | PageTableEntry.user
        slot.storeBytes(of: entry, as: UInt64.self)
      }
      table = entry & PageTableEntry.addressMask
    }
    var leaf = frame.physicalAddress | PageTableEntry.present | PageTableEntry.user
    if writable { leaf |= PageTableEntry.writable }
    if !executable { leaf |= PageTableEntry.noExecute }
    Machine.physical(table).storeBytes(of: leaf, toByteOffset: Self.index(va, level: 0) * 8, as: UInt64.self)
    return true
  }

  /// Whether the user page holding `va` is present and user-accessible (and
  /// writable, if asked) at every level. The kernel checks this before it
  /// touches a buffer an env named, so a bad pointer is an error, not a fault.
  func isUserAccessible(_ va: UInt64, write: Bool) -> Bool {
    guard va < UserSpace.top else { return false }
    var need = PageTableEntry.present | PageTableEntry.user
    if write { need |= PageTableEntry.writable }
    var table = root
    for level in stride(from: 3, through: 0, by: -1) {
      let entry = Machine.physical(table).load(fromByteOffset: Self.index(va, level: level) * 8, as: UInt64.self)
      if entry & need != need { return false }
      if level > 0 && entry & PageTableEntry.largePage != 0 { return false }  // envs have none
      table = entry & PageTableEntry.addressMask
    }
    return true
  }

  /// The physical address `va` maps to, if it is mapped.
  func translate(_ va: UInt64) -> UInt64? {
    var table = root
    for level in stride(from: 3, through: 0, by: -1) {
      let entry = Machine.physical(table).load(fromByteOffset: Self.index(va, level: level) * 8, as: UInt64.self)
      if entry & PageTableEntry.present == 0 { return nil }
      table = entry & PageTableEntry.addressMask
    }
    return table | (va & 0xfff)
  }
}
