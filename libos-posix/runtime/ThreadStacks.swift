// Each thread's stack: frames from the env's own quota, mapped in a region
// of their own (PML4 slot 248) with an unmapped guard page below every
// stack, so that an overflow faults instead of writing over a neighbour.
// A slot keeps its frames when its thread is reaped, so the next thread in
// that slot starts without a kernel call.
import LibOSPosix
import SecureBindings

enum ThreadStacks {
  static let base: UInt64 = 0x7c00_0000_0000
  /// Virtual room per slot: the stack at its top, guard pages below.
  static let slotSpan: UInt64 = 64 * 1024
  static let stackPages: UInt64 = 8  // 32 KiB: Swift's print and string interpolation fit with room to spare

  nonisolated(unsafe) static var mapped: [Bool] = []

  /// The top of `slot`'s stack (16-byte aligned), mapping it on first use.
  static func top(for slot: Int) throws(ExoError) -> UInt64 {
    if mapped.isEmpty { mapped = Array(repeating: false, count: Threads.capacity) }
    let top = base + UInt64(slot + 1) * slotSpan
    if !mapped[slot] {
      let kernel = ExoPageKernel()
      for page in 1...stackPages {
        try kernel.mapSupplyingTables(top - page * UserSpace.pageSize, try kernel.frameAlloc(), .write)
      }
      mapped[slot] = true
    }
    return top
  }
}
