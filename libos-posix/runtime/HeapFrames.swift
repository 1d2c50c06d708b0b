// The heap's growth in an image: when the heap (libos-posix/Heap.swift)
// carves past its committed pages, this takes frames from the env's quota
// and maps them writable at the next pages of the heap's range, up to 16
// pages per `map_batch`, supplying page-table frames as the rest of the
// libOS does (PageMapping.swift). It runs inside posix_memalign's
// thread-library critical section and allocates nothing from the heap: the
// batch lives on the stack. Pages stay mapped until the env exits, so a
// freed block keeps its frames for the next allocation.
//
// Why pages are committed when the heap grows rather than demand-faulted:
// a demand-zero heap would need the libOS's page-fault handler, but an app
// may install its own (vmbench and fault do: Exceptions has one handler),
// and then its first touch of a new heap page would be an exception it
// cannot resolve. A heap that faults also cannot be used by code that runs
// in the exception handler itself (the report of an unresolved exception
// allocates as it prints), where a fault kills the env. Committing costs
// frames only for pages carved, plus at most one growth step ahead.
import LibOSPosix
import SecureBindings

public struct HeapFrames: HeapGrowth {
  /// The heap's reserved range: PML4 slot 246, above every image
  /// (UserSpace.imageLimit) and apart from the thread stacks (248), the
  /// pager's backing store (250), the exception page (252), the page-table
  /// view (254) and the stack and time page (255); mmap regions are far below.
  public static let base: UInt64 = 0x7b00_0000_0000
  /// 64 GiB: more than any quota (BootConfig allows 65536 frames, 256 MiB).
  public static let span: UInt64 = 1 << 36

  static let batch = 16
  static let tableSpan: UInt64 = 512 * UserSpace.pageSize  // what one page table maps

  /// Frames mapped as heap pages.
  public private(set) var dataFrames = 0
  /// Frames spent on the page tables of the heap's range.
  public private(set) var tableFrames = 0
  /// Up to here the page tables of the range exist (a multiple of
  /// `tableSpan`; the heap commits in address order).
  private var tablesEnd: UInt64 = 0

  public init() {}

  public mutating func commit(_ address: UInt, pages: Int) -> Int {
    var done = 0
    while done < pages {
      let start = UInt64(address) + UInt64(done) * UserSpace.pageSize
      // A batch stays inside one page table's span: once that table is in,
      // none of its entries can need one.
      let spanEnd = (start / Self.tableSpan + 1) * Self.tableSpan
      let count = min(pages - done, Self.batch, Int((spanEnd - start) / UserSpace.pageSize))
      let mapped = commitBatch(start, count, spanEnd: spanEnd)
      done += mapped
      if mapped < count { break }
    }
    return done
  }

  /// Maps up to `count` pages from `start`; returns how many, a prefix. A
  /// frame taken but not mapped goes back to the quota.
  private mutating func commitBatch(_ start: UInt64, _ count: Int, spanEnd: UInt64) -> Int {
    var entries = InlineArray<16, MapBatchEntry>(
      repeating: MapBatchEntry(address: 0, capability: FrameCapability(raw: 0), rights: .write))
    var taken = 0
    while taken < count {
      guard let frame = try? Exo.frameAlloc() else { break }  // quota exhausted
      entries[taken] = MapBatchEntry(
        address: start + UInt64(taken) * UserSpace.pageSize, capability: frame, rights: .write)
      taken += 1
    }
    var mapped = 0
    if taken > 0 && start >= tablesEnd {
      // The first page of a new table span: map it alone, supplying tables.
      do throws(ExoError) {
        tableFrames += try ExoPageKernel().mapSupplyingTables(
          start, FrameCapability(raw: entries[0].capability), .write)
        mapped = 1
        tablesEnd = spanEnd
      } catch {
        mapped = 0
      }
    }
    if start < tablesEnd && mapped < taken {
      let result = entries.span.withUnsafeBufferPointer {
        Exo.mapBatchOutcome(UnsafeBufferPointer(rebasing: $0[mapped..<taken]))
      }
      // On any error (need_table included) the result is the failing
      // entry's index: the entries before it are mapped.
      mapped = result.error == nil ? taken : mapped + min(max(result.mapped, 0), taken - mapped)
    }
    for i in mapped..<taken { try? Exo.frameFree(FrameCapability(raw: entries[i].capability)) }
    dataFrames += mapped
    return mapped
  }
}
