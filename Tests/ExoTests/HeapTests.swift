// Host tests of the libOS heap (libos-posix/Heap.swift): the first arena,
// growth across many pages, growth refused part-way, hooks that lie,
// malformed requests, large and small blocks mixed, and random
// allocate/free sequences checked for overlap and alignment. The reserved
// range is real address space mapped PROT_NONE, and the fake hook makes
// pages readable and writable only when it commits them, so a heap that
// touched a page it had not committed would crash the test.
import Foundation
import LibOSPosix
import XCTest

/// What the fake hook did, in a class so that a test can change the budget
/// of the hook the heap holds.
final class PageLedger {
  let base: UInt
  let reservedPages: Int
  /// Pages it will still commit; nil for no limit.
  var budget: Int?
  /// Added to what it answers (a hook that lies), without committing more.
  var claimExtra = 0
  var committed = 0
  var calls: [(address: UInt, asked: Int, got: Int)] = []
  /// Requests that broke the hook's contract.
  var misuse: [String] = []

  init(base: UInt, reservedPages: Int, budget: Int?) {
    self.base = base
    self.reservedPages = reservedPages
    self.budget = budget
  }

  var committedEnd: UInt { base + UInt(committed * 4096) }
}

/// Commits pages of a PROT_NONE reservation with mprotect, up to a budget.
struct ReservedPages: HeapGrowth {
  let ledger: PageLedger

  mutating func commit(_ address: UInt, pages: Int) -> Int {
    let ledger = ledger
    let next = ledger.committedEnd
    if address != next { ledger.misuse.append("commit at \(address), expected \(next)") }
    if pages <= 0 || ledger.committed + pages > ledger.reservedPages {
      ledger.misuse.append("commit of \(pages) pages past \(ledger.committed)")
    }
    let got = max(0, min(pages, ledger.budget ?? pages, ledger.reservedPages - ledger.committed))
    if got > 0 {
      let result = mprotect(UnsafeMutableRawPointer(bitPattern: next), got * 4096, PROT_READ | PROT_WRITE)
      if result != 0 { ledger.misuse.append("mprotect failed") }
    }
    ledger.committed += got
    if let budget = ledger.budget { ledger.budget = budget - got }
    ledger.calls.append((address, pages, got))
    return got + ledger.claimExtra
  }
}

/// A heap over a real first arena and a PROT_NONE reservation.
final class HeapBench {
  let arena: UnsafeMutableRawBufferPointer
  let reserve: UnsafeMutableRawPointer
  let reserveBytes: Int
  let ledger: PageLedger
  var heap: Heap<ReservedPages>

  init(arenaBytes: Int = 64 * 1024, reservePages: Int = 16 * 1024, budget: Int? = nil, claimExtra: Int = 0) {
    arena = UnsafeMutableRawBufferPointer.allocate(byteCount: arenaBytes, alignment: 4096)
    reserveBytes = reservePages * 4096
    reserve = mmap(nil, reserveBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)!
    precondition(reserve != MAP_FAILED)
    ledger = PageLedger(base: UInt(bitPattern: reserve), reservedPages: reservePages, budget: budget)
    ledger.claimExtra = claimExtra
    heap = Heap(
      arena: arena, reserve: UnsafeMutableRawBufferPointer(start: reserve, count: reserveBytes),
      growth: ReservedPages(ledger: ledger))
  }

  deinit {
    munmap(reserve, reserveBytes)
    arena.deallocate()
  }

  func allocate(_ size: Int, alignment: Int = 16) -> UnsafeMutableRawPointer? {
    heap.allocate(size: size, alignment: alignment)
  }

  /// Whether [start, end) lies wholly in the arena or in committed pages.
  func isUsable(_ start: UInt, _ end: UInt) -> Bool {
    let arenaStart = UInt(bitPattern: arena.baseAddress!)
    if start >= arenaStart && end <= arenaStart + UInt(arena.count) { return true }
    return start >= ledger.base && end <= ledger.committedEnd
  }

  func inArena(_ pointer: UnsafeMutableRawPointer) -> Bool {
    let p = UInt(bitPattern: pointer)
    let arenaStart = UInt(bitPattern: arena.baseAddress!)
    return p >= arenaStart && p < arenaStart + UInt(arena.count)
  }
}


final class HeapTests: XCTestCase {
  private static let page = 4096

  /// Fills a block with `tag` and checks it later: overlapping blocks, or a
  /// block in memory that is not the heap's, show as a wrong byte.
  private func fill(_ p: UnsafeMutableRawPointer, _ size: Int, _ tag: UInt8) {
    p.initializeMemory(as: UInt8.self, repeating: tag, count: size)
  }

  private func holds(_ p: UnsafeMutableRawPointer, _ size: Int, _ tag: UInt8) -> Bool {
    let word = UInt64(tag) &* 0x0101_0101_0101_0101
    var i = 0
    while i + 8 <= size {
      if p.loadUnaligned(fromByteOffset: i, as: UInt64.self) != word { return false }
      i += 8
    }
    while i < size {
      if p.load(fromByteOffset: i, as: UInt8.self) != tag { return false }
      i += 1
    }
    return true
  }

  func testFirstArenaServesSmallAllocationsWithoutGrowing() throws {
    let bench = HeapBench()
    var blocks: [UnsafeMutableRawPointer] = []
    for i in 0..<100 {
      let p = try XCTUnwrap(bench.allocate(100 + i))
      XCTAssertTrue(bench.inArena(p))
      blocks.append(p)
    }
    XCTAssertTrue(bench.ledger.calls.isEmpty)
    XCTAssertEqual(bench.heap.committedBytes, 0)
    XCTAssertEqual(bench.heap.size, 64 * 1024)
    for p in blocks { bench.heap.free(p) }
    XCTAssertEqual(bench.heap.bytesInUse, 0)
  }

  /// Thousands of blocks carry the heap over many pages: each growth asks
  /// for the next pages in order, a few at a time, and never far beyond
  /// what was carved.
  func testHeapGrowsAcrossManyPages() throws {
    let bench = HeapBench()
    var blocks: [(UnsafeMutableRawPointer, Int)] = []
    for i in 0..<3000 {
      let size = i % 50 == 0 ? 3 * Self.page + i : 40 + (i * 97) % 3000
      let p = try XCTUnwrap(bench.allocate(size), "block \(i)")
      XCTAssertTrue(bench.isUsable(UInt(bitPattern: p) - 16, UInt(bitPattern: p) + UInt(size)), "block \(i)")
      fill(p, size, UInt8(truncatingIfNeeded: i))
      blocks.append((p, size))
    }
    let growth = bench.ledger
    XCTAssertEqual(growth.misuse, [])
    XCTAssertGreaterThan(growth.calls.count, 50)
    XCTAssertGreaterThan(growth.committed, 1000)
    XCTAssertEqual(bench.heap.committedPages, growth.committed)
    XCTAssertEqual(bench.heap.size, 64 * 1024 + growth.committed * Self.page)
    for call in growth.calls {
      XCTAssertGreaterThanOrEqual(call.asked, Heap<ReservedPages>.growthPages)
      XCTAssertEqual(call.asked, call.got)
    }
    // Every block is live, so the carved bytes are at most bytesInUse:
    // the heap commits at most one growth step past them.
    XCTAssertLessThanOrEqual(bench.heap.committedBytes, bench.heap.bytesInUse + 16 * Self.page)
    for (i, (p, size)) in blocks.enumerated() {
      XCTAssertTrue(holds(p, size, UInt8(truncatingIfNeeded: i)), "block \(i) was overwritten")
      bench.heap.free(p)
    }
    XCTAssertEqual(bench.heap.bytesInUse, 0)
  }

  /// The hook runs out of memory in the middle of a growth: the allocation
  /// fails, the heap keeps the pages committed on the way, and later frees
  /// and allocations work, including large ones once memory is back.
  func testGrowthRefusedPartWayLeavesTheHeapConsistent() throws {
    let bench = HeapBench(arenaBytes: 4096, budget: 40)
    var live: [(UnsafeMutableRawPointer, UInt8)] = []
    for i in 0..<6 {
      let p = try XCTUnwrap(bench.allocate(16 * 1024), "block \(i)")  // 5 pages each
      fill(p, 16 * 1024, UInt8(i))
      live.append((p, UInt8(i)))
    }
    XCTAssertEqual(bench.ledger.committed, 32)
    let inUse = bench.heap.bytesInUse
    XCTAssertNil(bench.allocate(100 * 1024), "26 more pages are needed and the budget has 8")
    XCTAssertEqual(bench.ledger.budget, 0)
    XCTAssertEqual(bench.ledger.committed, 40)
    XCTAssertEqual(bench.heap.committedPages, 40, "pages committed part-way stay the heap's")
    XCTAssertEqual(bench.ledger.calls.last.map { [$0.asked, $0.got] }, [24, 8])
    XCTAssertEqual(bench.heap.bytesInUse, inUse, "a failed allocation takes nothing")
    XCTAssertNil(bench.allocate(100 * 1024))
    XCTAssertEqual(bench.heap.committedPages, 40)
    XCTAssertEqual(bench.ledger.misuse, [])

    // Small blocks still fit: two in the arena, the rest in the 10 pages
    // committed but not carved.
    var small: [UnsafeMutableRawPointer] = []
    for i in 0..<20 {
      let p = try XCTUnwrap(bench.allocate(2000), "small block \(i)")
      XCTAssertTrue(bench.isUsable(UInt(bitPattern: p) - 16, UInt(bitPattern: p) + 2000))
      fill(p, 2000, 0xEE)
      small.append(p)
    }
    XCTAssertEqual(small.filter { !bench.inArena($0) }.count, 18)
    // Freed blocks serve the same sizes again with no growth.
    let calls = bench.ledger.calls.count
    for (p, _) in live.suffix(3) { bench.heap.free(p) }
    live.removeLast(3)
    for _ in 0..<3 {
      let p = try XCTUnwrap(bench.allocate(16 * 1024))
      fill(p, 16 * 1024, 0x77)
      live.append((p, 0x77))
    }
    XCTAssertEqual(bench.ledger.calls.count, calls)
    for (p, tag) in live { XCTAssertTrue(holds(p, 16 * 1024, tag)) }
    for p in small { XCTAssertTrue(holds(p, 2000, 0xEE)) }

    // Memory comes back: the large request now grows the heap.
    bench.ledger.budget = nil
    let big = try XCTUnwrap(bench.allocate(100 * 1024))
    XCTAssertTrue(bench.isUsable(UInt(bitPattern: big) - 16, UInt(bitPattern: big) + 100 * 1024))
    fill(big, 100 * 1024, 0x55)
    bench.heap.free(big)
    for (p, _) in live { bench.heap.free(p) }
    for p in small { bench.heap.free(p) }
    XCTAssertEqual(bench.heap.bytesInUse, 0)
    XCTAssertEqual(bench.ledger.misuse, [])
  }

  func testGrowthThatCommitsNothingFailsCleanly() throws {
    let bench = HeapBench(arenaBytes: 4096, budget: 0)
    let p = try XCTUnwrap(bench.allocate(1000), "the first arena needs no growth")
    XCTAssertNil(bench.allocate(8000))
    XCTAssertNil(bench.allocate(3 * 4096))
    XCTAssertEqual(bench.heap.committedBytes, 0)
    XCTAssertEqual(bench.heap.bytesInUse, 1024)
    bench.heap.free(p)
    XCTAssertNotNil(bench.allocate(1000), "the freed block serves again")
  }

  /// A hook that answers more pages than it was asked for is held to what
  /// it was asked; one that answers a negative count, to nothing.
  func testAHookThatLiesIsNotBelievedPastWhatItWasAsked() throws {
    let bench = HeapBench(arenaBytes: 4096, claimExtra: 1000)
    var blocks: [UnsafeMutableRawPointer] = []
    for i in 0..<40 {
      let p = try XCTUnwrap(bench.allocate(10_000))
      fill(p, 10_000, UInt8(i))  // would crash on a page the hook did not commit
      blocks.append(p)
    }
    XCTAssertEqual(bench.heap.committedPages, bench.ledger.committed)
    for p in blocks { bench.heap.free(p) }

    let liar = HeapBench(arenaBytes: 4096, budget: 0, claimExtra: -7)
    XCTAssertNil(liar.allocate(10_000))
    XCTAssertEqual(liar.heap.committedBytes, 0)
  }

  func testMalformedRequestsAreRefusedWithoutGrowing() {
    let bench = HeapBench(reservePages: 1024)
    let capacity = bench.heap.capacity
    XCTAssertEqual(capacity, 64 * 1024 + 1024 * 4096)
    let bad: [(size: Int, alignment: Int)] = [
      (-1, 16), (Int.min, 16), (16, 0), (16, -16), (16, 3), (16, 48), (16, Int.min),
      (Int.max, 16), (capacity + 1, 16), (16, 1 << 62), (capacity, capacity),
      (capacity - 100, 16),  // well formed, but larger than the reservation
    ]
    for request in bad {
      XCTAssertNil(bench.allocate(request.size, alignment: request.alignment), "\(request)")
    }
    XCTAssertEqual(bench.heap.bytesInUse, 0)
    XCTAssertEqual(bench.ledger.calls.count, 0)
    XCTAssertEqual(bench.ledger.misuse, [])
    XCTAssertNotNil(bench.allocate(0), "a zero-byte block is a block")
  }

  func testAlignmentIsHonouredFromOneByteToTwoPages() throws {
    let bench = HeapBench()
    var blocks: [UnsafeMutableRawPointer] = []
    for shift in 0...13 {
      for size in [0, 1, 17, 1000, 5000, 70_000] {
        let alignment = 1 << shift
        let p = try XCTUnwrap(bench.allocate(size, alignment: alignment), "\(size) at \(alignment)")
        XCTAssertEqual(UInt(bitPattern: p) % UInt(alignment), 0, "\(size) at \(alignment)")
        XCTAssertEqual(UInt(bitPattern: p) % 16, 0)
        fill(p, size, UInt8(shift))
        blocks.append(p)
      }
    }
    for p in blocks { bench.heap.free(p) }
    XCTAssertEqual(bench.heap.bytesInUse, 0)
  }

  /// Large blocks freed serve later large and mid-sized requests (split to
  /// what they need) without growing; small blocks come from their classes.
  func testLargeAndSmallBlocksMixed() throws {
    let bench = HeapBench(arenaBytes: 4096)
    let big = try XCTUnwrap(bench.allocate(256 * 1024))
    let smalls = try (0..<50).map { i in try XCTUnwrap(bench.allocate(24 + i)) }
    for (i, p) in smalls.enumerated() { fill(p, 24 + i, UInt8(i)) }
    let committed = bench.heap.committedBytes
    bench.heap.free(big)
    var pieces: [UnsafeMutableRawPointer] = []
    for i in 0..<5 {  // 11 pages each, from the 65 of the freed block
      let p = try XCTUnwrap(bench.allocate(40 * 1024))
      let start = UInt(bitPattern: big)
      XCTAssertTrue(
        UInt(bitPattern: p) >= start && UInt(bitPattern: p) < start + 256 * 1024,
        "piece \(i) is not from the freed block")
      fill(p, 40 * 1024, 0xA0 + UInt8(i))
      pieces.append(p)
    }
    XCTAssertEqual(bench.heap.committedBytes, committed, "the freed block kept its pages and served again")
    for (i, p) in pieces.enumerated() { XCTAssertTrue(holds(p, 40 * 1024, 0xA0 + UInt8(i))) }
    for (i, p) in smalls.enumerated() { XCTAssertTrue(holds(p, 24 + i, UInt8(i))) }
    for p in pieces + smalls { bench.heap.free(p) }
    XCTAssertEqual(bench.heap.bytesInUse, 0)
    // The pieces are not coalesced: a block as big as the first grows the heap.
    XCTAssertNotNil(bench.allocate(256 * 1024))
    XCTAssertGreaterThan(bench.heap.committedBytes, committed)
  }

  /// Random allocate/free sequences, some under a frame budget: no two live
  /// blocks (with their headers) overlap, every alignment is honoured, every
  /// block lies in usable memory and keeps its bytes, an allocation fails
  /// only when the budget is spent, and all frees bring the heap to zero.
  func testRandomSequencesKeepBlocksApartAndAligned() throws {
    var budgetFailures = 0
    for seed in 1...24 {
      var random = SplitMix64(state: UInt64(seed) &* 0x51ED)
      let budget: Int? = seed % 3 == 0 ? 100 + random.below(400) : nil
      let bench = HeapBench(reservePages: 64 * 1024, budget: budget)
      var live: [(pointer: UnsafeMutableRawPointer, size: Int, tag: UInt8)] = []
      var spans: [(low: UInt, high: UInt)] = []  // sorted, one per live block
      var failures = 0

      func spanIndex(_ low: UInt) -> Int {
        var lo = 0
        var hi = spans.count
        while lo < hi {
          let mid = (lo + hi) / 2
          if spans[mid].low < low { lo = mid + 1 } else { hi = mid }
        }
        return lo
      }

      for step in 0..<1500 {
        if !live.isEmpty && random.below(100) < 45 {
          let index = random.below(live.count)
          let block = live.remove(at: index)
          XCTAssertTrue(holds(block.pointer, block.size, block.tag), "seed \(seed) step \(step): block overwritten")
          let low = UInt(bitPattern: block.pointer) - 16
          let at = spanIndex(low)
          XCTAssertEqual(spans[at].low, low)
          spans.remove(at: at)
          bench.heap.free(block.pointer)
          continue
        }
        let kind = random.below(100)
        let size =
          kind < 70 ? random.below(600) : kind < 92 ? 600 + random.below(8000) : 8000 + random.below(150_000)
        let alignment = 1 << random.below(13)
        guard let p = bench.allocate(size, alignment: alignment) else {
          XCTAssertEqual(bench.ledger.budget, 0, "seed \(seed) step \(step): failed with memory left")
          failures += 1
          continue
        }
        let low = UInt(bitPattern: p) - 16
        let high = UInt(bitPattern: p) + UInt(size)
        XCTAssertEqual(UInt(bitPattern: p) % UInt(max(alignment, 16)), 0, "seed \(seed) step \(step)")
        XCTAssertTrue(bench.isUsable(low, high), "seed \(seed) step \(step): block outside usable memory")
        let at = spanIndex(low)
        if at > 0 { XCTAssertLessThanOrEqual(spans[at - 1].high, low, "seed \(seed) step \(step): overlap below") }
        if at < spans.count {
          XCTAssertLessThanOrEqual(high, spans[at].low, "seed \(seed) step \(step): overlap above")
        }
        spans.insert((low, high), at: at)
        let tag = UInt8(truncatingIfNeeded: step)
        fill(p, size, tag)
        live.append((p, size, tag))
      }
      if budget == nil { XCTAssertEqual(failures, 0, "seed \(seed)") } else { budgetFailures += failures }
      XCTAssertEqual(bench.ledger.misuse, [], "seed \(seed)")
      XCTAssertEqual(bench.heap.committedPages, bench.ledger.committed, "seed \(seed)")
      for block in live {
        XCTAssertTrue(holds(block.pointer, block.size, block.tag), "seed \(seed): block overwritten")
        bench.heap.free(block.pointer)
      }
      XCTAssertEqual(bench.heap.bytesInUse, 0, "seed \(seed)")
    }
    XCTAssertGreaterThan(budgetFailures, 0, "no sequence ran out of its budget")
  }
}
