// pager-demo: touches a working set four times its frame budget through the
// libOS pager, writes a pattern, reads every byte back after the pages have
// been evicted and brought back, and exits 0 only if all match.
import LibOSRuntime

@main
struct PagerDemo {
  static let pages = 64
  static let budget = 16

  /// A byte that depends on both the page and the offset, so a page brought
  /// back at the wrong address is caught.
  @inline(__always)
  static func pattern(_ i: Int) -> UInt8 { UInt8(truncatingIfNeeded: i &* 131 &+ (i >> 12) &* 7 &+ 1) }

  static func main() {
    if App.argumentIs("stray") || App.argumentIs("readonly") { misbehave() }
    if App.argumentIs("cow") { copyOnWrite() }
    let clock = App.argumentIs("clock")
    let name: StaticString = clock ? "clock" : "fifo"
    do throws(VMError) {
      try Paging.start(budget: budget, policy: clock ? .clock : .fifo, backingPages: pages)
      let length = pages * Int(UserSpace.pageSize)
      let memory = try Paging.mmap(length: UInt64(length), protection: .readWrite)
      let bytes = memory.assumingMemoryBound(to: UInt8.self)
      // Write the pages in order, then read them back twice: forwards, and
      // in a stride that jumps between pages, so both policies evict and
      // bring back pages many times.
      for i in 0..<length { bytes[i] = pattern(i) }
      if App.argumentIs("reclaim") { try awaitReclaim() }
      var mismatches = 0
      for i in 0..<length where bytes[i] != pattern(i) { mismatches += 1 }
      var page = 0
      for _ in 0..<pages {
        page = (page + 23) % pages  // 23 is prime to 64: every page once
        let base = page * Int(UserSpace.pageSize)
        for i in base..<(base + Int(UserSpace.pageSize)) where bytes[i] != pattern(i) { mismatches += 1 }
      }
      let s = Paging.statistics
      print("pager-demo: \(name.description): \(pages) pages through a budget of \(budget) frames")
      print("pager-demo: \(s.faults) faults: \(s.zeroFills) zero-fills, \(s.pageIns) page-ins, \(s.softFaults) soft faults")
      print(
        "pager-demo: \(s.evictions) evictions, \(s.referenceClears) reference clears, \(s.tableFrames) table frames, at most \(s.mostResident) frames resident"
      )
      try Paging.munmap(memory, length: UInt64(length))
      if mismatches > 0 || s.mostResident > budget {
        print("pager-demo: \(mismatches) bytes differ")
        Exo.exit(1)
      }
      print("pager-demo: all \(length) bytes verified")
    } catch {
      print("pager-demo: paging failed: \(describe(error))")
      Exo.exit(2)
    }
  }

  /// `pager-demo:reclaim`: with every page written, waits (yielding) until
  /// another env lowers this env's quota, and gives the frames back by
  /// evicting pages; the read passes that follow check every byte.
  static func awaitReclaim() throws(VMError) {
    var turns = 0
    while Reclaim.requested == 0 && turns < 5000 {
      Exo.yield()
      turns += 1
    }
    let asked = Reclaim.requested
    guard asked > 0 else {
      print("pager-demo: no request to give frames back came")
      Exo.exit(3)
    }
    let given = Paging.honourReclaim()
    print("pager-demo: asked for \(asked) frames back, gave back \(given); \(Paging.residentFrames) pages resident, the kernel asks for \(Reclaim.requested) more")
  }

  /// `pager-demo:cow`: region B is a copy-on-write clone of region A. B reads
  /// A's bytes without a copy; writing B copies each page once and leaves A
  /// alone; writing A afterwards needs no copy (A is each frame's last
  /// sharer); every byte of both is checked after each step.
  static func copyOnWrite() -> Never {
    let a: UInt64 = 0x4000_0000_0000
    let b: UInt64 = 0x4100_0000_0000
    let cowPages = 8
    let length = cowPages * Int(UserSpace.pageSize)
    let bytesA = UnsafeMutablePointer<UInt8>(bitPattern: UInt(a))!
    let bytesB = UnsafeMutablePointer<UInt8>(bitPattern: UInt(b))!
    var mismatches = 0
    do throws(ExoError) {
      try CopyOnWriteMemory.start()
      try CopyOnWriteMemory.allocate(at: a, pages: cowPages)
      for i in 0..<length { bytesA[i] = pattern(i) }
      try CopyOnWriteMemory.clone(a, pages: cowPages, to: b)
      let shared = CopyOnWriteMemory.statistics.sharedFrames
      for i in 0..<length where bytesB[i] != pattern(i) { mismatches += 1 }
      let copiesAfterReads = CopyOnWriteMemory.statistics.copies
      for i in 0..<length { bytesB[i] = pattern(i) ^ 0x5a }
      for i in 0..<length where bytesA[i] != pattern(i) { mismatches += 1 }
      for i in 0..<length { bytesA[i] = pattern(i) ^ 0xa5 }
      for i in 0..<length where bytesB[i] != pattern(i) ^ 0x5a || bytesA[i] != pattern(i) ^ 0xa5 { mismatches += 1 }
      let s = CopyOnWriteMemory.statistics
      print("pager-demo: cow: \(cowPages) pages cloned sharing \(shared) frames; \(copiesAfterReads) copies after reading the clone, \(s.copies) copies after writing it, \(s.regains) pages of the source regained write without a copy")
      try CopyOnWriteMemory.release(a, pages: cowPages)
      try CopyOnWriteMemory.release(b, pages: cowPages)
    } catch {
      print("pager-demo: cow failed: \(error.name.description)")
      Exo.exit(2)
    }
    if mismatches > 0 {
      print("pager-demo: cow: \(mismatches) bytes differ")
      Exo.exit(1)
    }
    print("pager-demo: cow: all \(2 * length) bytes of both regions verified")
    Exo.exit(0)
  }

  /// A fault the pager must not resolve: the runtime reports it and exits 142.
  static func misbehave() -> Never {
    do throws(VMError) {
      try Paging.start(budget: 4, policy: .fifo, backingPages: 4)
      let page = try Paging.mmap(length: UserSpace.pageSize, protection: .read)
      print("pager-demo: page reads \(page.load(as: UInt8.self))")
      if App.argumentIs("stray") {
        print("pager-demo: touching the guard page after the region")
        (page + Int(UserSpace.pageSize)).storeBytes(of: 1, as: UInt8.self)
      } else {
        print("pager-demo: writing to a read-only region")
        page.storeBytes(of: 1, as: UInt8.self)
      }
      print("pager-demo: still alive: the fault was resolved")
    } catch {
      print("pager-demo: paging failed: \(describe(error))")
    }
    Exo.exit(1)
  }

  static func describe(_ error: VMError) -> StaticString {
    switch error {
    case .invalidArgument: return "invalid argument"
    case .noAddressSpace: return "no address space"
    case .notReserved: return "not reserved"
    case .backingStoreFull: return "backing store full"
    case .kernel(let e): return e.name
    }
  }
}
