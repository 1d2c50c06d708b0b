// Host tests of the pager's side of visible revocation: giving frames back
// when the kernel asks (evicting, with every byte kept in the backing
// store) and forgetting pages whose frames the kernel took by force (their
// bytes are gone; they read as zero), over the fake kernel.
import LibOSPosix
import SecureBindings
import XCTest

final class PagerReclaimTests: XCTestCase {
  private var storeMemory: UnsafeMutableRawBufferPointer!

  override func setUp() { storeMemory = .allocate(byteCount: 64 * 4096, alignment: 4096) }
  override func tearDown() { storeMemory.deallocate() }

  private func pager(budget: Int) -> Pager<FakeKernel, FIFOPolicy> {
    Pager(kernel: FakeKernel(), budget: budget, policy: FIFOPolicy(slots: budget), store: BackingStore(memory: storeMemory))
  }

  private func byte(_ page: Int, _ offset: Int) -> UInt8 { UInt8(truncatingIfNeeded: page * 37 + offset + 1) }

  func testGivingBackEvictsKeepsEveryByteAndStaysGiven() throws {
    var p = pager(budget: 8)
    let base = try p.mmap(length: 16 * 4096, protection: .readWrite)
    for page in 0..<16 {
      for offset in stride(from: 0, to: 4096, by: 512) {
        XCTAssertTrue(write(&p, base + UInt64(page * 4096 + offset), byte(page, offset)))
      }
    }
    XCTAssertEqual(p.resident.count, 8)
    let before = p.kernel.dataFrames
    XCTAssertEqual(p.giveBack(3), 3)
    XCTAssertEqual(p.kernel.dataFrames, before - 3, "three frames went back to the kernel")
    XCTAssertEqual(p.limit, 5)
    XCTAssertEqual(p.statistics.framesGivenBack, 3)
    for page in 0..<16 {
      for offset in stride(from: 0, to: 4096, by: 512) {
        XCTAssertEqual(read(&p, base + UInt64(page * 4096 + offset)), byte(page, offset), "page \(page)")
      }
      XCTAssertLessThanOrEqual(p.resident.count, 5, "the lower limit holds while paging")
    }
    XCTAssertEqual(p.giveBack(100), 4, "one frame always stays")
    XCTAssertEqual(p.limit, 1)
    XCTAssertTrue(p.kernel.misuse.isEmpty, "\(p.kernel.misuse)")
  }

  func testARepossessedPageReadsAsZeroAndTheRestSurvive() throws {
    var p = pager(budget: 4)
    let base = try p.mmap(length: 4 * 4096, protection: .readWrite)
    for page in 0..<4 { XCTAssertTrue(write(&p, base + UInt64(page * 4096) + 10, byte(page, 10))) }
    let lost = try XCTUnwrap((0..<4).compactMap { p.resident[$0] }.first { $0.address == base + 2 * 4096 })
    p.kernel.repossess(lost.capability)
    XCTAssertTrue(p.forget(repossessed: lost.capability))
    XCTAssertFalse(p.forget(repossessed: lost.capability), "forgotten once")
    XCTAssertFalse(p.forget(repossessed: FrameCapability(frame: Frame(number: 0x9999), generation: 1)), "not the pager's")
    XCTAssertEqual(p.statistics.pagesLost, 1)
    XCTAssertEqual(read(&p, base + 2 * 4096 + 10), 0, "its bytes are gone: a fresh zero page")
    for page in [0, 1, 3] { XCTAssertEqual(read(&p, base + UInt64(page * 4096) + 10), byte(page, 10)) }
    XCTAssertTrue(p.kernel.misuse.isEmpty, "\(p.kernel.misuse)")
  }
}
