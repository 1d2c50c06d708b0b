// Host tests of copy-on-write between two regions: the bookkeeping alone,
// then the whole mechanism over the fake kernel, property style: random
// writes to either region against a model of what each should hold, every
// byte compared, and every frame back at the end.
import LibOSPosix
import SecureBindings
import XCTest

final class CopyOnWriteTests: XCTestCase {
  private let a: UInt64 = 0x4000_0000_0000
  private let b: UInt64 = 0x4100_0000_0000

  func testTableCopiesWhileSharedAndTheLastSharerRegainsWrite() {
    var table = CopyOnWriteTable()
    let frame = FrameCapability(frame: Frame(number: 7), generation: 1)
    table.add(page: a, frame: frame)
    XCTAssertEqual(table.action(forWriteTo: a), .none, "writable already")
    table.share(b, with: table.index(of: a)!)
    XCTAssertEqual(table.sharedFrameCount, 1)
    XCTAssertEqual(table.action(forWriteTo: a), .copy(from: frame))
    XCTAssertEqual(table.action(forWriteTo: b), .copy(from: frame))
    let fresh = FrameCapability(frame: Frame(number: 8), generation: 1)
    table.resolved(b, newFrame: fresh)
    XCTAssertEqual(table.action(forWriteTo: b), .none)
    XCTAssertEqual(table.action(forWriteTo: a), .regainWrite, "a is the frame's last sharer")
    XCTAssertEqual(table.action(forWriteTo: 0x1234_5000), .none, "not tracked")
    XCTAssertEqual(table.remove(a), frame, "the last page of the frame gives it back")
    XCTAssertNil(table.remove(a))
    XCTAssertEqual(table.remove(b), fresh)
  }

  /// A write as the CPU runs it: fault, let copy-on-write resolve, retry.
  private func write(_ cow: inout CopyOnWrite<FakeKernel>, _ address: UInt64, _ value: UInt8) -> Bool {
    for _ in 0..<3 {
      if cow.kernel.allows(address, .write) {
        cow.kernel.store(address, value)
        return true
      }
      let present = cow.kernel.pages[address & ~4095] != nil
      if !cow.resolve(PageFault(address: address, present: present, access: .write)) { return false }
    }
    return false
  }

  func testRandomWritesToBothRegionsKeepEachItsOwnBytes() throws {
    for seed in 1...20 {
      var random = SplitMix64(seed: UInt64(seed))
      var cow = CopyOnWrite(kernel: FakeKernel())
      let pages = 1 + random.below(8)
      try cow.allocate(at: a, pages: pages)
      let framesAfterAllocate = cow.kernel.dataFrames
      var modelA = [UInt8](repeating: 0, count: pages * 4096)
      for _ in 0..<200 {
        let at = random.below(modelA.count)
        let value = random.byte()
        XCTAssertTrue(write(&cow, a + UInt64(at), value))
        modelA[at] = value
      }
      try cow.clone(a, pages: pages, to: b)
      XCTAssertEqual(cow.kernel.dataFrames, framesAfterAllocate, "seed \(seed): a clone spends no data frame")
      XCTAssertEqual(cow.statistics.sharedFrames, pages)
      var modelB = modelA
      for _ in 0..<400 {
        let at = random.below(modelA.count)
        let value = random.byte()
        if random.chance(50) {
          XCTAssertTrue(write(&cow, a + UInt64(at), value), "seed \(seed)")
          modelA[at] = value
        } else {
          XCTAssertTrue(write(&cow, b + UInt64(at), value), "seed \(seed)")
          modelB[at] = value
        }
      }
      for i in 0..<modelA.count {
        XCTAssertEqual(cow.kernel.load(a + UInt64(i)), modelA[i], "seed \(seed) a+\(i)")
        XCTAssertEqual(cow.kernel.load(b + UInt64(i)), modelB[i], "seed \(seed) b+\(i)")
      }
      let s = cow.statistics
      XCTAssertLessThanOrEqual(s.copies, pages, "seed \(seed): at most one copy per shared frame")
      XCTAssertLessThanOrEqual(s.copies + s.regains, 2 * pages, "seed \(seed)")
      XCTAssertEqual(cow.kernel.dataFrames, framesAfterAllocate + s.copies, "seed \(seed): one new frame per copy")
      try cow.release(a, pages: pages)
      try cow.release(b, pages: pages)
      XCTAssertEqual(cow.kernel.dataFrames, 0, "seed \(seed): every frame back")
      XCTAssertTrue(cow.kernel.misuse.isEmpty, "seed \(seed): \(cow.kernel.misuse)")
    }
  }

  func testReadsNeverCopyAndForeignFaultsAreLeftAlone() throws {
    var cow = CopyOnWrite(kernel: FakeKernel())
    try cow.allocate(at: a, pages: 2)
    XCTAssertTrue(write(&cow, a + 10, 42))
    try cow.clone(a, pages: 2, to: b)
    XCTAssertEqual(cow.kernel.load(b + 10), 42)
    XCTAssertFalse(cow.resolve(PageFault(address: b, present: true, access: .read)), "a read is no copy-on-write fault")
    XCTAssertFalse(cow.resolve(PageFault(address: 0x5000_0000_0000, present: false, access: .write)), "not tracked")
    XCTAssertFalse(cow.resolve(PageFault(address: b, present: false, access: .write)), "not present")
    XCTAssertEqual(cow.statistics.copies, 0)
    XCTAssertTrue(write(&cow, b + 10, 7))
    XCTAssertEqual(cow.kernel.load(a + 10), 42, "the source keeps its byte")
    XCTAssertTrue(write(&cow, a + 10, 9))
    XCTAssertEqual(cow.statistics.copies, 1)
    XCTAssertEqual(cow.statistics.regains, 1, "the source was the last sharer: write back without a copy")
    XCTAssertThrowsError(try cow.clone(0x6000_0000_0000, pages: 1, to: b + 0x10000))
  }
}
