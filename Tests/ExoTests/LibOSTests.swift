// Host tests of the libOS's hardware-free memory code: the exception-slot
// layout the assembly uses, the page-table view's addresses, the mapping
// helper, the region allocator, fault resolution, mprotect, and both
// replacement policies, over a fake kernel that keeps the same rules as exo.
import LibOSPosix
import SecureBindings
import UserArch
import XCTest

/// A kernel with exo's memory rules, in dictionaries: frames with
/// generations and a quota, page tables that must be supplied, mappings with
/// rights, and the bytes of every frame.
final class FakeKernel: PageKernel {
  var quota: Int
  private(set) var held: Set<UInt64> = []
  private var generations: [UInt64: UInt16] = [:]
  private var nextFrame: UInt64 = 0x100
  private(set) var tables: [UInt64: UInt64] = [:]  // table key -> frame
  private(set) var pages: [UInt64: (frame: UInt64, rights: PageRights)] = [:]
  private var bytes: [UInt64: [UInt8]] = [:]
  private(set) var calls: [String: Int] = [:]
  /// The pager touched a page it had not mapped (with the rights it needed).
  private(set) var misuse: [String] = []

  init(quota: Int = 1000) { self.quota = quota }

  var tableFrames: Int { tables.count }
  /// Frames holding data: held and not tables.
  var dataFrames: Int { held.count - tables.count }

  private func count(_ name: String) { calls[name, default: 0] += 1 }

  private static func key(_ address: UInt64, level: UInt64) -> UInt64 { level << 60 | address >> (12 + 9 * level) }

  private func check(_ capability: FrameCapability) throws(ExoError) -> UInt64 {
    let n = capability.frame.number
    guard held.contains(n), generations[n] == capability.generation else { throw .badCapability }
    return n
  }

  private func isTable(_ frame: UInt64) -> Bool { tables.values.contains(frame) }
  private func isMapped(_ frame: UInt64) -> Bool { pages.values.contains { $0.frame == frame } }

  func frameAlloc() throws(ExoError) -> FrameCapability {
    count("frame_alloc")
    guard held.count < quota else { throw .quotaExceeded }
    let n = nextFrame
    nextFrame += 1
    held.insert(n)
    generations[n, default: 0] &+= 1
    bytes[n] = Array(repeating: 0, count: 4096)
    return FrameCapability(frame: Frame(number: n), generation: generations[n]!)
  }

  func frameFree(_ capability: FrameCapability) throws(ExoError) {
    count("frame_free")
    let n = try check(capability)
    guard !isTable(n), !isMapped(n) else { throw .frameInUse }
    held.remove(n)
    bytes[n] = nil
  }

  func map(_ address: UInt64, _ capability: FrameCapability, _ rights: PageRights) -> MapOutcome {
    count("map")
    guard UserSpace.isMappable(address) else { return .failed(.badAddress) }
    guard rights.raw & ~PageRights.all == 0 else { return .failed(.badArgument) }
    let n: UInt64
    do { n = try check(capability) } catch { return .failed(error) }
    if isTable(n) { return .failed(.frameInUse) }
    for level: UInt64 in [3, 2, 1] where tables[Self.key(address, level: level)] == nil {
      return .needTable(level: level)
    }
    if pages[address] != nil { return .failed(.alreadyMapped) }
    pages[address] = (n, rights)
    return .mapped
  }

  func mapTable(_ address: UInt64, level: UInt64, _ capability: FrameCapability) -> MapOutcome {
    count("map_table")
    guard address < UserSpace.top, !(address >= UserSpace.pageTableView && address < UserSpace.pageTableViewEnd)
    else { return .failed(.badAddress) }
    guard (1...3).contains(level) else { return .failed(.badArgument) }
    let n: UInt64
    do { n = try check(capability) } catch { return .failed(error) }
    if isTable(n) || isMapped(n) { return .failed(.frameInUse) }
    var higher: UInt64 = 3
    while higher > level {
      if tables[Self.key(address, level: higher)] == nil { return .needTable(level: higher) }
      higher -= 1
    }
    if tables[Self.key(address, level: level)] != nil { return .failed(.alreadyMapped) }
    tables[Self.key(address, level: level)] = n
    return .mapped
  }

  private func checkRun(_ address: UInt64, _ count: UInt64) throws(ExoError) {
    guard (1...KernelCall.batchLimit).contains(count) else { throw .badLength }
    for i in 0..<count where pages[address + i * 4096] == nil { throw .notMapped }
  }

  func unmap(_ address: UInt64, pages count: UInt64) throws(ExoError) {
    self.count("unmap")
    try checkRun(address, count)
    for i in 0..<count { pages[address + i * 4096] = nil }
  }

  func protect(_ address: UInt64, pages count: UInt64, _ rights: PageRights) throws(ExoError) {
    self.count("protect")
    try checkRun(address, count)
    for i in 0..<count { pages[address + i * 4096]!.rights = rights }
  }

  func copyOut(page address: UInt64, to destination: UnsafeMutableRawPointer) {
    guard let entry = pages[address] else { return misuse.append("copyOut of unmapped \(address)") }
    bytes[entry.frame]!.withUnsafeBytes { destination.copyMemory(from: $0.baseAddress!, byteCount: 4096) }
  }

  func copyIn(page address: UInt64, from source: UnsafeRawPointer) {
    guard let entry = pages[address], entry.rights.writable else {
      return misuse.append("copyIn to unmapped or read-only \(address)")
    }
    bytes[entry.frame]!.withUnsafeMutableBytes { $0.baseAddress!.copyMemory(from: source, byteCount: 4096) }
  }

  // MARK: what the app's instructions do

  /// Whether an access to `address` would complete without a fault.
  func allows(_ address: UInt64, _ access: Access) -> Bool {
    guard let entry = pages[address & ~4095] else { return false }
    switch access {
    case .read: return true
    case .write: return entry.rights.writable
    case .execute: return entry.rights.executable
    }
  }

  /// What exo's forced repossession does to a frame: every mapping of it
  /// goes and the frame is no longer held (its bytes are gone).
  func repossess(_ capability: FrameCapability) {
    let n = capability.frame.number
    for (address, entry) in pages where entry.frame == n { pages[address] = nil }
    held.remove(n)
    bytes[n] = nil
  }

  func load(_ address: UInt64) -> UInt8 { bytes[pages[address & ~4095]!.frame]![Int(address & 4095)] }
  func store(_ address: UInt64, _ value: UInt8) { bytes[pages[address & ~4095]!.frame]![Int(address & 4095)] = value }
}

/// An app's access as the CPU runs it: fault, let the pager resolve, retry.
func touch<P: ReplacementPolicy>(
  _ pager: inout Pager<FakeKernel, P>, _ address: UInt64, _ access: Access
) -> Bool {
  for _ in 0..<3 {
    if pager.kernel.allows(address, access) { return true }
    let present = pager.kernel.pages[address & ~4095] != nil
    if !pager.resolve(PageFault(address: address, present: present, access: access)) { return false }
  }
  return false
}

func write<P: ReplacementPolicy>(_ pager: inout Pager<FakeKernel, P>, _ address: UInt64, _ value: UInt8) -> Bool {
  guard touch(&pager, address, .write) else { return false }
  pager.kernel.store(address, value)
  return true
}

func read<P: ReplacementPolicy>(_ pager: inout Pager<FakeKernel, P>, _ address: UInt64) -> UInt8? {
  guard touch(&pager, address, .read) else { return nil }
  return pager.kernel.load(address)
}

/// A deterministic generator for the property tests.
struct XorShift {
  var state: UInt64
  mutating func next() -> UInt64 {
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    return state
  }
  mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

final class LibOSTests: XCTestCase {
  private var storeMemory: UnsafeMutableRawBufferPointer!

  override func setUp() {
    storeMemory = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 4096, alignment: 4096)
  }

  override func tearDown() { storeMemory.deallocate() }

  private func store(pages: Int) -> BackingStore {
    BackingStore(memory: UnsafeMutableRawBufferPointer(rebasing: storeMemory[0..<(pages * 4096)]))
  }

  private func pager<P: ReplacementPolicy>(
    _ policy: P, budget: Int, storePages: Int = 64, quota: Int = 1000
  ) -> Pager<FakeKernel, P> {
    Pager(kernel: FakeKernel(quota: quota), budget: budget, policy: policy, store: store(pages: storePages))
  }

  // MARK: the exception slot and the view

  func testAssemblySlotConstantsEqualExceptionSlot() {
    XCTAssertEqual(Int(EXO_SLOT_UPCALLS_DISABLED), ExceptionSlot.upcallsDisabled)
    XCTAssertEqual(Int(EXO_SLOT_VECTOR), ExceptionSlot.vector)
    XCTAssertEqual(Int(EXO_SLOT_ERROR), ExceptionSlot.error)
    XCTAssertEqual(Int(EXO_SLOT_FAULT_ADDRESS), ExceptionSlot.faultAddress)
    XCTAssertEqual(Int(EXO_SLOT_RIP), ExceptionSlot.rip)
    XCTAssertEqual(Int(EXO_SLOT_RFLAGS), ExceptionSlot.rflags)
    XCTAssertEqual(Int(EXO_SLOT_RSP), ExceptionSlot.rsp)
    XCTAssertEqual(Int(EXO_SLOT_GPRS), ExceptionSlot.generalRegisters)
    XCTAssertEqual(Int(EXO_SLOT_GPR_COUNT), ExceptionSlot.generalRegisterCount)
    XCTAssertEqual(Int(EXO_SLOT_FPU), ExceptionSlot.fpuArea)
    XCTAssertEqual(Int(EXO_SLOT_SIZE), ExceptionSlot.size)
    // exception.S's handler table: the exception vectors, then 256 - 32
    // strays, then upcall_full at 0x100 and 0x101.
    XCTAssertEqual(ExceptionSlot.sliceStart, 256)
    XCTAssertEqual(EventSlot.delivery, 257)
    XCTAssertEqual(EXO_UPCALL_VECTORS, 32)
    XCTAssertEqual(GeneralRegister.allCases.count, ExceptionSlot.generalRegisterCount)
    // FXSAVE needs 512 bytes at a 16-byte boundary, after the registers.
    XCTAssertEqual(ExceptionSlot.fpuArea % 16, 0)
    XCTAssertLessThanOrEqual(ExceptionSlot.generalRegisters + 8 * ExceptionSlot.generalRegisterCount, ExceptionSlot.fpuArea)
    XCTAssertLessThanOrEqual(ExceptionSlot.fpuArea + 512, ExceptionSlot.size)
    XCTAssertEqual(Int(EXO_RED_ZONE), 128)
    XCTAssertEqual(Int(EXO_EXCEPTION_STACK_SIZE) % 16, 0)
  }

  func testExceptionStateReadsTheSlotAndDecodesPageFaults() {
    let page = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
    defer { page.deallocate() }
    page.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
    let state = ExceptionState(page: page)
    page.storeBytes(of: 14, toByteOffset: ExceptionSlot.vector, as: UInt64.self)
    page.storeBytes(of: 0x7, toByteOffset: ExceptionSlot.error, as: UInt64.self)
    page.storeBytes(of: 0x1000_0000_1234, toByteOffset: ExceptionSlot.faultAddress, as: UInt64.self)
    page.storeBytes(of: 0x40_1000, toByteOffset: ExceptionSlot.rip, as: UInt64.self)
    page.storeBytes(of: 42, toByteOffset: ExceptionSlot.generalRegisters + 8 * 14, as: UInt64.self)
    XCTAssertEqual(state.pageFault, PageFault(address: 0x1000_0000_1234, present: true, access: .write))
    XCTAssertEqual(state.pageFault?.page, 0x1000_0000_1000)
    XCTAssertEqual(state[.r15], 42)
    state.rip += 2
    state[.rax] = 7
    XCTAssertEqual(page.load(fromByteOffset: ExceptionSlot.rip, as: UInt64.self), 0x40_1002)
    XCTAssertEqual(page.load(fromByteOffset: ExceptionSlot.generalRegisters, as: UInt64.self), 7)
    XCTAssertEqual(PageFault(address: 0, errorCode: 0x14).access, .execute)
    XCTAssertEqual(PageFault(address: 0, errorCode: 0x4), PageFault(address: 0, present: false, access: .read))
    page.storeBytes(of: 6, toByteOffset: ExceptionSlot.vector, as: UInt64.self)
    XCTAssertNil(state.pageFault)
    XCTAssertEqual(ExceptionState.mnemonic(6).description, "#UD")
  }

  func testPageTableViewAddressesFollowTheRecursiveSlot() {
    let view = UserSpace.pageTableView
    let slot = UserSpace.pageTableViewSlot
    XCTAssertEqual(PageTableView.entryAddress(of: 0x40_0000, level: 1), view + (0x40_0000 >> 12) * 8)
    XCTAssertEqual(
      PageTableView.entryAddress(of: view, level: 4), view | slot << 30 | slot << 21 | slot << 12 | slot * 8)
    // One level up is the level-1 entry of the entry's own address, for any address.
    var random = XorShift(state: 0x1234_5678)
    for _ in 0..<1000 {
      let address = random.next() & (UserSpace.top - 1)
      for level in 1...3 {
        XCTAssertEqual(
          PageTableView.entryAddress(of: PageTableView.entryAddress(of: address, level: level), level: 1),
          PageTableView.entryAddress(of: address, level: level + 1))
      }
      XCTAssertEqual(PageTableView.entryAddress(of: address, level: 1) % 8, 0)
      XCTAssertTrue((view..<UserSpace.pageTableViewEnd).contains(PageTableView.entryAddress(of: address, level: 1)))
    }
    XCTAssertEqual(PageTableView.frameNumber(ofEntry: 0x8000_0000_1234_5067), 0x12345)
  }

  // MARK: the mapping helper

  func testMapOutcomeDecodesStatusAndLevel() {
    XCTAssertEqual(MapOutcome(status: 0, value: 0), .mapped)
    XCTAssertEqual(MapOutcome(status: ExoError.needTable.rawValue, value: 2), .needTable(level: 2))
    XCTAssertEqual(MapOutcome(status: ExoError.badCapability.rawValue, value: 0), .failed(.badCapability))
    XCTAssertEqual(MemoryLayout<MapBatchEntry>.size, 24)
    XCTAssertEqual(MemoryLayout<MapBatchEntry>.offset(of: \.rights), 16)
  }

  func testMapSupplyingTablesInstallsExactlyTheMissingLevels() throws {
    let kernel = FakeKernel()
    let a = try kernel.frameAlloc()
    XCTAssertEqual(try kernel.mapSupplyingTables(0x1000_0000_0000, a, .write), 3)
    XCTAssertEqual(try kernel.mapSupplyingTables(0x1000_0000_1000, try kernel.frameAlloc(), .write), 0)
    XCTAssertEqual(try kernel.mapSupplyingTables(0x1000_0020_0000, try kernel.frameAlloc(), .write), 1)
    XCTAssertEqual(try kernel.mapSupplyingTables(0x1000_4000_0000, try kernel.frameAlloc(), .write), 2)
    XCTAssertEqual(kernel.tableFrames, 6)
    XCTAssertThrowsError(try kernel.mapSupplyingTables(0x1000_0000_0000, try kernel.frameAlloc(), .write)) {
      XCTAssertEqual($0 as? ExoError, .alreadyMapped)
    }
    XCTAssertThrowsError(try kernel.mapSupplyingTables(UserSpace.pageTableView, a, .write)) {
      XCTAssertEqual($0 as? ExoError, .badAddress)
    }
  }

  func testMapSupplyingTablesGivesBackItsFrameWhenTheQuotaRunsOut() throws {
    let kernel = FakeKernel(quota: 3)
    let frame = try kernel.frameAlloc()
    // The data frame and two tables fit; the third table does not.
    XCTAssertThrowsError(try kernel.mapSupplyingTables(0x1000_0000_0000, frame, .write)) {
      XCTAssertEqual($0 as? ExoError, .quotaExceeded)
    }
    XCTAssertEqual(kernel.held.count, 3)
    XCTAssertEqual(kernel.tableFrames, 2)
    kernel.quota = 4
    XCTAssertEqual(try kernel.mapSupplyingTables(0x1000_0000_0000, frame, .write), 1)
  }

  // MARK: regions

  func testRegionsAreFirstFitWithGuardPages() throws {
    var map = RegionMap()
    let a = try XCTUnwrap(map.reserve(pages: 4, protection: .readWrite))
    let b = try XCTUnwrap(map.reserve(pages: 2, protection: .read))
    XCTAssertEqual(a, RegionMap.base)
    XCTAssertEqual(b, a + 5 * 4096, "one guard page between regions")
    XCTAssertNil(map.locate(a + 4 * 4096), "the guard page is in no region")
    XCTAssertEqual(map.locate(b + 4096)?.region, 1)
    XCTAssertEqual(map.locate(b + 4096)?.page, 1)
    XCTAssertEqual(map[map.locate(b)!].protection, .read)
    XCTAssertTrue(map.covers(a, pages: 4))
    XCTAssertFalse(map.covers(a, pages: 5))
    map.release(a + 4096, pages: 2)  // splits a into [a] and [a + 3 pages]
    XCTAssertEqual(map.regions.map(\.start), [a, a + 3 * 4096, b])
    XCTAssertEqual(map.regions.map(\.pages.count), [1, 1, 2])
    // The two-page hole cannot hold a page plus guard pages on both sides' terms.
    XCTAssertEqual(map.reserve(pages: 1, protection: .read), b + 3 * 4096)
    XCTAssertNil(map.reserve(pages: 0, protection: .read))
    XCTAssertNil(map.reserve(pages: Int((RegionMap.limit - RegionMap.base) / 4096), protection: .read))
    map.release(RegionMap.base, pages: 1 << 20)
    XCTAssertTrue(map.regions.isEmpty)
    XCTAssertEqual(map.reserve(pages: 1, protection: .read), RegionMap.base, "freed space is reused")
  }

  // MARK: fault resolution

  func testFirstTouchMapsAZeroedFrameWithTheRegionsRights() throws {
    var p = pager(FIFOPolicy(slots: 8), budget: 8)
    let rw = try p.mmap(length: 3 * 4096, protection: .readWrite)
    let ro = try p.mmap(length: 4096, protection: .read)
    XCTAssertEqual(p.kernel.dataFrames, 0, "mmap spends no frame")
    XCTAssertEqual(read(&p, rw + 5000), 0)
    XCTAssertEqual(p.kernel.pages[rw + 4096]?.rights, .write)
    XCTAssertTrue(write(&p, rw + 5000, 9))
    XCTAssertEqual(read(&p, rw + 5000), 9)
    XCTAssertEqual(read(&p, ro), 0)
    XCTAssertEqual(p.kernel.pages[ro]?.rights, .readOnly)
    XCTAssertFalse(write(&p, ro, 1), "a write to a read-only region is not resolved")
    XCTAssertFalse(touch(&p, rw, .execute), "no execute right was asked for")
    XCTAssertNil(read(&p, ro + 4096), "the guard page after a region")
    XCTAssertNil(read(&p, 0x5000_0000_0000), "outside every region")
    XCTAssertEqual(p.statistics.zeroFills, 2)
    XCTAssertEqual(p.statistics.tableFrames, 3)
    XCTAssertTrue(p.kernel.misuse.isEmpty, "\(p.kernel.misuse)")
  }

  func testMunmapGivesEveryFrameAndSlotBack() throws {
    var p = pager(FIFOPolicy(slots: 2), budget: 2, storePages: 8)
    let a = try p.mmap(length: 6 * 4096, protection: .readWrite)
    for i in 0..<6 { XCTAssertTrue(write(&p, a + UInt64(i) * 4096, UInt8(i + 1))) }
    XCTAssertEqual(p.backingSlotsFree, 4)
    XCTAssertEqual(p.kernel.dataFrames, 2)
    try p.munmap(a + 4096, length: 4 * 4096)
    XCTAssertNil(read(&p, a + 2 * 4096), "unmapped pages are gone")
    XCTAssertEqual(read(&p, a + 5 * 4096), 6, "the rest of the region stays")
    XCTAssertEqual(read(&p, a), 1)
    try p.munmap(a, length: 6 * 4096)
    XCTAssertEqual(p.kernel.dataFrames, 0)
    XCTAssertEqual(p.kernel.pages.count, 0)
    XCTAssertEqual(p.backingSlotsFree, 8)
    XCTAssertEqual(p.resident.count, 0)
    XCTAssertThrowsError(try p.munmap(a + 1, length: 4096)) { XCTAssertEqual($0 as? VMError, .invalidArgument) }
    XCTAssertThrowsError(try p.munmap(a, length: 0)) { XCTAssertEqual($0 as? VMError, .invalidArgument) }
  }

  func testMprotectChangesMappedPagesAndRecordsTheRest() throws {
    var p = pager(ClockPolicy(slots: 8), budget: 8)
    let a = try p.mmap(length: 4 * 4096, protection: .readWrite)
    XCTAssertTrue(write(&p, a, 1))
    XCTAssertTrue(write(&p, a + 4096, 2))
    let protectsBefore = p.kernel.calls["protect"] ?? 0
    try p.mprotect(a, length: 4 * 4096, protection: .read)
    XCTAssertEqual(p.kernel.calls["protect"], protectsBefore + 1, "two consecutive mapped pages, one call")
    XCTAssertEqual(p.kernel.pages[a]?.rights, .readOnly)
    XCTAssertNil(p.kernel.pages[a + 2 * 4096], "unmapped pages are only recorded")
    XCTAssertFalse(write(&p, a, 3))
    XCTAssertFalse(write(&p, a + 3 * 4096, 3), "the recorded protection holds at the first touch")
    XCTAssertEqual(read(&p, a + 3 * 4096), 0)
    XCTAssertEqual(p.kernel.pages[a + 3 * 4096]?.rights, .readOnly)

    // PROT_NONE unmaps but keeps the frame and its bytes.
    try p.mprotect(a, length: 4096, protection: .none)
    XCTAssertNil(p.kernel.pages[a])
    XCTAssertNil(read(&p, a))
    XCTAssertEqual(p.resident.count, 3)
    try p.mprotect(a, length: 4 * 4096, protection: .readWrite)
    XCTAssertEqual(read(&p, a), 1, "the same frame comes back")
    XCTAssertTrue(write(&p, a, 4))
    XCTAssertEqual(read(&p, a + 4096), 2)
    XCTAssertEqual(p.statistics.softFaults, 1)

    let outside = a + 4 * 4096
    XCTAssertThrowsError(try p.mprotect(a, length: 5 * 4096, protection: .read)) {
      XCTAssertEqual($0 as? VMError, .notReserved)
    }
    XCTAssertThrowsError(try p.mprotect(outside + 4096, length: 4096, protection: .read))
    XCTAssertEqual(p.kernel.pages[a]?.rights, .write, "a refused mprotect changes nothing")
    XCTAssertTrue(p.kernel.misuse.isEmpty, "\(p.kernel.misuse)")
  }

  func testPagesOfAReadOnlyRegionComeBackReadOnly() throws {
    var p = pager(FIFOPolicy(slots: 1), budget: 1, storePages: 4)
    let a = try p.mmap(length: 2 * 4096, protection: .readWrite)
    XCTAssertTrue(write(&p, a, 7))
    XCTAssertTrue(write(&p, a + 4096, 8))  // evicts a
    try p.mprotect(a, length: 2 * 4096, protection: .read)
    XCTAssertEqual(read(&p, a), 7)
    XCTAssertEqual(p.kernel.pages[a]?.rights, .readOnly)
    XCTAssertFalse(write(&p, a, 1))
    XCTAssertTrue(p.kernel.misuse.isEmpty, "\(p.kernel.misuse)")
  }

  func testAFullBackingStoreLeavesTheFaultUnresolved() throws {
    var p = pager(FIFOPolicy(slots: 1), budget: 1, storePages: 1)
    let a = try p.mmap(length: 3 * 4096, protection: .readWrite)
    XCTAssertTrue(write(&p, a, 1))
    XCTAssertTrue(write(&p, a + 4096, 2))
    XCTAssertFalse(write(&p, a + 2 * 4096, 3))
    XCTAssertEqual(p.lastError, .backingStoreFull)
    XCTAssertEqual(read(&p, a + 4096), 2, "the resident page is untouched")
  }

  func testTheQuotaTriggersEvictionBeforeTheBudgetDoes() throws {
    // Budget 8, but the quota leaves room for 3 tables and 2 data frames.
    var p = pager(FIFOPolicy(slots: 8), budget: 8, storePages: 8, quota: 5)
    let a = try p.mmap(length: 4 * 4096, protection: .readWrite)
    for i in 0..<4 { XCTAssertTrue(write(&p, a + UInt64(i) * 4096, UInt8(i + 1)), "page \(i)") }
    for i in 0..<4 { XCTAssertEqual(read(&p, a + UInt64(i) * 4096), UInt8(i + 1)) }
    XCTAssertLessThanOrEqual(p.kernel.held.count, 5)
    XCTAssertGreaterThan(p.statistics.evictions, 0)
  }

  // MARK: replacement policies

  func testFIFOEvictsInLoadOrder() {
    var fifo = FIFOPolicy(slots: 3)
    fifo.loaded(2)
    fifo.loaded(0)
    fifo.loaded(1)
    fifo.touched(2)
    XCTAssertEqual(fifo.next(), .evict(slot: 2), "touches do not matter to FIFO")
    fifo.released(2)
    XCTAssertEqual(fifo.next(), .evict(slot: 0))
    fifo.released(0)
    fifo.loaded(2)
    XCTAssertEqual(fifo.next(), .evict(slot: 1))
  }

  func testClockGivesReferencedPagesASecondChance() {
    var clock = ClockPolicy(slots: 3)
    for slot in 0..<3 { clock.loaded(slot) }
    XCTAssertEqual(clock.next(), .clearReference(slot: 0))
    XCTAssertEqual(clock.next(), .clearReference(slot: 1))
    XCTAssertEqual(clock.next(), .clearReference(slot: 2))
    XCTAssertEqual(clock.next(), .evict(slot: 0))
    clock.released(0)
    clock.touched(1)  // slot 1 is used again: spared once more
    XCTAssertEqual(clock.next(), .clearReference(slot: 1))
    XCTAssertEqual(clock.next(), .evict(slot: 2))
  }

  func testPolicyChoiceForwardsToTheChosenPolicy() {
    var fifo = PolicyChoice.fifo(slots: 2)
    var clock = PolicyChoice.clock(slots: 2)
    for slot in 0..<2 {
      fifo.loaded(slot)
      clock.loaded(slot)
    }
    XCTAssertEqual(fifo.next(), .evict(slot: 0))
    XCTAssertEqual(clock.next(), .clearReference(slot: 0))
    XCTAssertTrue(clock.isClock)
  }

  func testClockKeepsAHotPageResidentWhereFIFOEvictsIt() throws {
    func run<P: ReplacementPolicy>(_ policy: P) throws -> Int {
      var p = pager(policy, budget: 3, storePages: 16)
      let a = try p.mmap(length: 8 * 4096, protection: .readWrite)
      // Page 0 is touched between every other page.
      for i in 1..<8 {
        XCTAssertTrue(write(&p, a, UInt8(i)))
        XCTAssertTrue(write(&p, a + UInt64(i) * 4096, UInt8(i)))
      }
      XCTAssertEqual(read(&p, a), 7)
      return p.statistics.pageIns
    }
    let fifo = try run(FIFOPolicy(slots: 3))
    let clock = try run(ClockPolicy(slots: 3))
    XCTAssertLessThan(clock, fifo, "clock: \(clock) page-ins, fifo: \(fifo)")
  }

  /// Random programs of mmap, munmap, mprotect, writes and reads: every byte
  /// read is the last byte written there (or 0), and the resident frames
  /// never exceed the budget, under both policies.
  func testRandomProgramsReadBackEveryByteWithinTheBudget() throws {
    for seed: UInt64 in [1, 2, 3, 42, 0xdead_beef] {
      try property(FIFOPolicy(slots: 5), seed: seed)
      try property(ClockPolicy(slots: 5), seed: seed)
      try property(PolicyChoice.clock(slots: 5), seed: seed)
    }
  }

  private func property<P: ReplacementPolicy>(_ policy: P, seed: UInt64) throws {
    var random = XorShift(state: seed)
    var p = pager(policy, budget: 5, storePages: 200)
    var shadow: [UInt64: UInt8] = [:]
    var regions: [(start: UInt64, pages: Int, writable: Bool)] = []
    for step in 0..<3000 {
      let what = random.below(100)
      let reserved = regions.reduce(0) { $0 + $1.pages }
      if regions.isEmpty || (what < 3 && reserved < 150) {
        let pages = 1 + random.below(12)
        regions.append((try p.mmap(length: UInt64(pages) * 4096, protection: .readWrite), pages, true))
      } else if what < 5 {
        let r = regions.remove(at: random.below(regions.count))
        try p.munmap(r.start, length: UInt64(r.pages) * 4096)
        for page in 0..<r.pages {
          for offset in 0..<4096 { shadow[r.start + UInt64(page * 4096 + offset)] = nil }
        }
      } else if what < 8 {
        let i = random.below(regions.count)
        regions[i].writable.toggle()
        try p.mprotect(
          regions[i].start, length: UInt64(regions[i].pages) * 4096,
          protection: regions[i].writable ? .readWrite : .read)
      } else {
        let r = regions[random.below(regions.count)]
        let address = r.start + UInt64(random.below(r.pages * 4096))
        if what < 55 {
          let value = UInt8(truncatingIfNeeded: random.next() | 1)
          XCTAssertEqual(write(&p, address, value), r.writable, "seed \(seed) step \(step) \(String(describing: p.lastError))")
          if r.writable { shadow[address] = value }
        } else {
          XCTAssertEqual(read(&p, address), shadow[address] ?? 0, "seed \(seed) step \(step) \(String(describing: p.lastError))")
        }
      }
      XCTAssertLessThanOrEqual(p.resident.count, 5)
      XCTAssertLessThanOrEqual(p.kernel.dataFrames, 5, "seed \(seed) step \(step)")
    }
    // Finally every byte ever written is still there.
    for (address, value) in shadow { XCTAssertEqual(read(&p, address), value, "seed \(seed)") }
    XCTAssertLessThanOrEqual(p.statistics.mostResident, 5)
    XCTAssertGreaterThan(p.statistics.evictions, 0)
    XCTAssertTrue(p.kernel.misuse.isEmpty, "\(p.kernel.misuse)")
    for r in regions { try p.munmap(r.start, length: UInt64(r.pages) * 4096) }
    XCTAssertEqual(p.kernel.dataFrames, 0)
    XCTAssertEqual(p.backingSlotsFree, 200)
  }
}
