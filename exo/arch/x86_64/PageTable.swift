// x86_64 four-level page tables of one env, read and written through the
// direct map. The kernel half of every env's PML4 is copied from the boot
// PML4, so kernel mappings (global pages) are shared by all envs; PML4 slot
// 254 maps the env's own tables back into its address space read-only.
//
// Levels are named by the table: 4 = PML4, 3 = PDPT, 2 = page directory,
// 1 = page table, whose entries map 4 KiB pages.
import SecureBindings
import X86

struct PageTableEntry {
  static let present: UInt64 = 1 << 0
  static let writable: UInt64 = 1 << 1
  static let user: UInt64 = 1 << 2
  static let largePage: UInt64 = 1 << 7
  static let noExecute: UInt64 = 1 << 63
  static let addressMask: UInt64 = 0x000f_ffff_ffff_f000

  /// The leaf entry for a user page with the rights asked for.
  static func leaf(_ frame: Frame, _ rights: PageRights) -> UInt64 {
    var entry = frame.physicalAddress | present | user
    if rights.writable { entry |= writable }
    if !rights.executable { entry |= noExecute }
    return entry
  }

  /// Intermediate tables allow everything; the leaf decides.
  static func table(_ frame: Frame) -> UInt64 { frame.physicalAddress | present | writable | user }
}

struct AddressSpace {
  /// Physical address of the PML4.
  let root: UInt64

  init(root: UInt64) { self.root = root }

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

  /// A new address space whose PML4 lives in `frame` (zeroed here): the
  /// kernel half shared, the page-table view in slot 254, nothing else.
  init(newRootIn frame: Frame) {
    root = frame.physicalAddress
    let table = Machine.physical(root)
    table.initializeMemory(as: UInt8.self, repeating: 0, count: 2048)
    let kernelHalf = Machine.physical(Self.kernelRoot).advanced(by: 2048)
    table.advanced(by: 2048).copyMemory(from: kernelHalf, byteCount: 2048)
    let view = root | PageTableEntry.present | PageTableEntry.user | PageTableEntry.noExecute
    table.storeBytes(of: view, toByteOffset: Int(UserSpace.pageTableViewSlot) * 8, as: UInt64.self)
  }

  func activate() {
    if x86_read_cr3() & PageTableEntry.addressMask != root { x86_write_cr3(root) }
  }

  private static func index(_ va: UInt64, level: Int) -> Int { Int((va >> (12 + 9 * UInt64(level - 1))) & 511) }

  /// The entry of the level-`level` table that covers `va`.
  private static func slot(in table: UInt64, _ va: UInt64, level: Int) -> UnsafeMutablePointer<UInt64> {
    Machine.physical(table).advanced(by: index(va, level: level) * 8).assumingMemoryBound(to: UInt64.self)
  }

  /// The physical address of the level-`level` table covering `va`, or the
  /// level of the first table missing on the way down.
  func table(at level: Int, covering va: UInt64) -> Result<UInt64, MissingTable> {
    var table = root
    var current = 4
    while current > level {
      let entry = Self.slot(in: table, va, level: current).pointee
      if entry & PageTableEntry.present == 0 { return .failure(MissingTable(level: current - 1)) }
      table = entry & PageTableEntry.addressMask
      current -= 1
    }
    return .success(table)
  }

  /// The slot in the level-`level` table for `va` (level 1: the leaf entry).
  func entry(at level: Int, for va: UInt64) -> Result<UnsafeMutablePointer<UInt64>, MissingTable> {
    table(at: level, covering: va).map { Self.slot(in: $0, va, level: level) }
  }

  /// The leaf entry for `va` if every level down to it is present.
  func leaf(_ va: UInt64) -> UnsafeMutablePointer<UInt64>? {
    guard case .success(let slot) = entry(at: 1, for: va), slot.pointee & PageTableEntry.present != 0 else {
      return nil
    }
    return slot
  }

  /// Drops the TLB entry for one page this env may have cached.
  static func invalidate(_ va: UInt64) { x86_invlpg(va) }

  /// Maps the user page at `va` to `frame` (used while loading an image).
  /// Missing intermediate tables come from `newTable`, which hands out
  /// frames charged to the env.
  func map(_ va: UInt64, to frame: Frame, rights: PageRights, newTable: () -> Frame?) -> Bool {
    for level in stride(from: 3, through: 1, by: -1) {
      guard case .failure = table(at: level, covering: va) else { continue }
      guard let fresh = newTable(), case .success(let parent) = entry(at: level + 1, for: va) else { return false }
      Machine.zeroFrame(fresh)
      parent.pointee = PageTableEntry.table(fresh)
    }
    guard case .success(let slot) = entry(at: 1, for: va) else { return false }
    slot.pointee = PageTableEntry.leaf(frame, rights)
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
    for level in stride(from: 4, through: 1, by: -1) {
      let entry = Self.slot(in: table, va, level: level).pointee
      if entry & need != need { return false }
      if level > 1 && entry & PageTableEntry.largePage != 0 { return false }  // envs have none
      table = entry & PageTableEntry.addressMask
    }
    return true
  }

  /// The physical address `va` maps to, if it is mapped.
  func translate(_ va: UInt64) -> UInt64? {
    leaf(va).map { ($0.pointee & PageTableEntry.addressMask) | (va & 0xfff) }
  }
}

/// `map` found no table at this level on the way to the leaf.
struct MissingTable: Error {
  let level: Int
}
