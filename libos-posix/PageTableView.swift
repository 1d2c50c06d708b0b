// Addresses in the read-only view of an env's own page tables (a recursive
// PML4 slot, UserSpace.pageTableView): where the entry of each level that
// translates an address can be read, and what its bits mean.
import SecureBindings

public enum PageTableView {
  public static let present: UInt64 = 1 << 0
  public static let writable: UInt64 = 1 << 1
  public static let user: UInt64 = 1 << 2
  public static let accessed: UInt64 = 1 << 5
  public static let dirty: UInt64 = 1 << 6
  public static let noExecute: UInt64 = 1 << 63
  static let addressMask: UInt64 = 0x000f_ffff_ffff_f000

  /// The view address of the entry of table `level` (1 = page table, 2 =
  /// page directory, 3 = PDPT, 4 = PML4) that translates `address`. Each
  /// level up goes once more through the recursive slot.
  public static func entryAddress(of address: UInt64, level: Int) -> UInt64 {
    let slot = UserSpace.pageTableViewSlot
    var base: UInt64 = 0
    for i in 0..<level { base |= slot << (39 - 9 * UInt64(i)) }
    let shift = 12 + 9 * UInt64(level - 1)
    let indexBits = 9 * UInt64(5 - level)
    let index = (address >> shift) & ((1 << indexBits) - 1)
    return base | index << 3
  }

  /// The frame number an entry points at.
  public static func frameNumber(ofEntry entry: UInt64) -> UInt64 { (entry & addressMask) >> 12 }
}
