// Unit tests of secure-bindings on the host: user ranges, ELF validation against
// hostile images, the frame-ownership table, boot-config parsing, the call table.
import XCTest

@testable import SecureBindings

final class SecureBindingsTests: XCTestCase {
  // MARK: UserRange

  private func range(_ start: UInt64, _ length: UInt64) -> UserRange? {
    do { return try UserRange.check(start: start, length: length) } catch { return nil }
  }

  private func rangeError(_ start: UInt64, _ length: UInt64) -> ExoError? {
    do {
      _ = try UserRange.check(start: start, length: length)
      return nil
    } catch { return error }
  }

  func testUserRangeAcceptsAnOrdinaryBuffer() throws {
    let r = try UserRange.check(start: 0x40_0010, length: 0x20)
    XCTAssertEqual(r.start, 0x40_0010)
    XCTAssertEqual(r.length, 0x20)
    XCTAssertEqual(r.end, 0x40_0030)
    XCTAssertEqual(r.firstPage, 0x40_0000)
    XCTAssertEqual(r.pageCount, 1)
  }

  func testUserRangeRefusesWrapAround() {
    XCTAssertEqual(rangeError(UInt64.max, 2), .badAddress)
    XCTAssertEqual(rangeError(0x40_0000, UInt64.max), .badAddress)
    XCTAssertEqual(rangeError(UInt64.max, UInt64.max), .badAddress)
  }

  func testUserRangeRefusesTheKernelHalfAndTheNullGuard() {
    XCTAssertEqual(rangeError(0xffff_ffff_8000_0000, 1), .badAddress)
    XCTAssertEqual(rangeError(0xffff_8000_0000_0000, 16), .badAddress)
    XCTAssertEqual(rangeError(0, 1), .badAddress)
    XCTAssertEqual(rangeError(UserSpace.lowest - 1, 1), .badAddress)
    XCTAssertEqual(rangeError(UserSpace.lowest - 1, 2), .badAddress)
    XCTAssertNotNil(range(UserSpace.lowest, 1))
  }

  func testUserRangeTopBoundaryIsExact() {
    XCTAssertNotNil(range(UserSpace.top - 16, 16))
    XCTAssertEqual(rangeError(UserSpace.top - 16, 17), .badAddress)
    XCTAssertEqual(rangeError(UserSpace.top, 1), .badAddress)
    XCTAssertEqual(range(UserSpace.top - 1, 1)?.pageCount, 1)
    XCTAssertEqual(range(UserSpace.lowest, UserSpace.top - UserSpace.lowest)?.end, UserSpace.top)
    // The non-canonical hole right above the user half.
    XCTAssertEqual(rangeError(UserSpace.top + 0x1000, 1), .badAddress)
  }

  func testUserRangeOfLengthZeroIsFineAnywhere() {
    for start: UInt64 in [0, 1, UserSpace.lowest - 1, UserSpace.top, 0xffff_ffff_8000_0000, UInt64.max] {
      let r = range(start, 0)
      XCTAssertNotNil(r, "start \(start)")
      XCTAssertEqual(r?.pageCount, 0)
      XCTAssertEqual(r?.end, start)
    }
  }

  func testUserRangePageCountAcrossPageBoundaries() {
    XCTAssertEqual(range(0x1_0ff0, 0x20)?.pageCount, 2)
    XCTAssertEqual(range(0x1_0ff0, 0x20)?.firstPage, 0x1_0000)
    XCTAssertEqual(range(0x1_0000, 0x1000)?.pageCount, 1)
    XCTAssertEqual(range(0x1_0000, 0x1001)?.pageCount, 2)
    XCTAssertEqual(range(0x1_0fff, 1)?.pageCount, 1)
    XCTAssertEqual(range(0x1_0fff, 2)?.pageCount, 2)
    XCTAssertEqual(range(0x1_0001, 0x2000)?.pageCount, 3)
    XCTAssertEqual(range(UserSpace.top - 0x1001, 0x1001)?.pageCount, 2)
  }

  // MARK: ELF: a tiny ELF64 writer

  private struct Segment {
    var type: UInt32 = 1
    var flags: UInt32
    var offset: UInt64
    var vaddr: UInt64
    var filesz: UInt64
    var memsz: UInt64

    static let pfX: UInt32 = 1, pfW: UInt32 = 2, pfR: UInt32 = 4
  }

  /// Little-endian byte writer; every test image is built through it so that
  /// each error case differs from a good image by exactly the field under test.
  private struct ElfWriter {
    var bytes: [UInt8]

    init(size: Int) { bytes = [UInt8](repeating: 0, count: size) }

    mutating func put(_ value: UInt64, at offset: Int, width: Int) {
      for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    static func image(
      entry: UInt64 = 0x40_0010, segments: [Segment], size: Int = 0x3000, phoff: UInt64 = 64,
      phentsize: UInt64 = 56, phnum: Int? = nil, machine: UInt64 = 62, type: UInt64 = 2
    ) -> [UInt8] {
      var w = ElfWriter(size: size)
      w.bytes.replaceSubrange(0..<4, with: [0x7f, 0x45, 0x4c, 0x46])
      w.bytes[4] = 2  // ELFCLASS64
      w.bytes[5] = 1  // ELFDATA2LSB
      w.bytes[6] = 1  // EV_CURRENT
      w.put(type, at: 16, width: 2)
      w.put(machine, at: 18, width: 2)
      w.put(1, at: 20, width: 4)
      w.put(entry, at: 24, width: 8)
      w.put(phoff, at: 32, width: 8)
      w.put(64, at: 52, width: 2)
      w.put(phentsize, at: 54, width: 2)
      w.put(UInt64(phnum ?? segments.count), at: 56, width: 2)
      for (i, s) in segments.enumerated() {
        let at = Int(phoff) + i * 56
        w.put(UInt64(s.type), at: at, width: 4)
        w.put(UInt64(s.flags), at: at + 4, width: 4)
        w.put(s.offset, at: at + 8, width: 8)
        w.put(s.vaddr, at: at + 16, width: 8)
        w.put(s.vaddr, at: at + 24, width: 8)
        w.put(s.filesz, at: at + 32, width: 8)
        w.put(s.memsz, at: at + 40, width: 8)
        w.put(0x1000, at: at + 48, width: 8)
      }
      return w.bytes
    }
  }

  private let text = Segment(
    flags: Segment.pfR | Segment.pfX, offset: 0x1000, vaddr: 0x40_0000, filesz: 0x100, memsz: 0x100)
  private let data = Segment(
    flags: Segment.pfR | Segment.pfW, offset: 0x2000, vaddr: 0x40_1000, filesz: 0x10, memsz: 0x2000)

  private func validate(_ bytes: [UInt8]) -> Result<ElfImage, ElfError> {
    bytes.withUnsafeBytes { buffer in
      do throws(ElfError) { return .success(try ElfImage.validate(buffer)) } catch { return .failure(error) }
    }
  }

  private func elfError(_ bytes: [UInt8]) -> ElfError? {
    switch validate(bytes) {
    case .success: return nil
    case .failure(let error): return error
    }
  }

  private func goodImage() -> [UInt8] { ElfWriter.image(segments: [text, data]) }

  func testElfValidTwoSegmentImageParsesExactly() throws {
    let image = try validate(goodImage()).get()
    XCTAssertEqual(image.entry, 0x40_0010)
    XCTAssertEqual(
      image.segments,
      [
        ElfSegment(
          virtualAddress: 0x40_0000, memorySize: 0x100, fileOffset: 0x1000, fileSize: 0x100, writable: false,
          executable: true),
        ElfSegment(
          virtualAddress: 0x40_1000, memorySize: 0x2000, fileOffset: 0x2000, fileSize: 0x10, writable: true,
          executable: false),
      ])
    XCTAssertEqual(image.segments[1].end, 0x40_3000)
  }

  func testElfIgnoresOtherProgramHeaderTypesAndEmptySegments() throws {
    let note = Segment(type: 4, flags: Segment.pfR, offset: 0xffff_ffff, vaddr: 0, filesz: 0x9999_9999, memsz: 0)
    let stack = Segment(type: 0x6474_e551, flags: Segment.pfR | Segment.pfW, offset: 0, vaddr: 0, filesz: 0, memsz: 0)
    let empty = Segment(flags: Segment.pfR, offset: 0, vaddr: 0, filesz: 0, memsz: 0)
    let image = try validate(ElfWriter.image(segments: [note, text, empty, stack, data])).get()
    XCTAssertEqual(image.segments.map(\.virtualAddress), [0x40_0000, 0x40_1000])
  }

  func testElfAcceptsAnImageEndingExactlyAtTheImageLimit() throws {
    let top = Segment(
      flags: Segment.pfR | Segment.pfX, offset: 0x1000, vaddr: UserSpace.imageLimit - 0x1000, filesz: 0x10,
      memsz: 0x1000)
    let image = try validate(ElfWriter.image(entry: UserSpace.imageLimit - 0x1000, segments: [top])).get()
    XCTAssertEqual(image.segments.count, 1)
    let lowest = Segment(flags: Segment.pfX, offset: 0, vaddr: UserSpace.lowest, filesz: 0, memsz: 1)
    XCTAssertNoThrow(try validate(ElfWriter.image(entry: UserSpace.lowest, segments: [lowest])).get())
  }

  func testElfAcceptsSegmentsOnAdjacentPages() {
    let end = Segment(flags: Segment.pfR | Segment.pfW, offset: 0x2000, vaddr: 0x40_0100 + 0xf00, filesz: 0, memsz: 1)
    XCTAssertNil(elfError(ElfWriter.image(segments: [text, end])))
  }

  func testElfTruncatedHeader() {
    XCTAssertEqual(elfError([]), .tooSmall)
    XCTAssertEqual(elfError(Array(goodImage().prefix(63))), .tooSmall)
    XCTAssertEqual(elfError([0x7f, 0x45, 0x4c, 0x46]), .tooSmall)
  }

  func testElfBadMagic() {
    for i in 0..<4 {
      var bytes = goodImage()
      bytes[i] ^= 0x20
      XCTAssertEqual(elfError(bytes), .badMagic, "byte \(i)")
    }
  }

  func testElfThirtyTwoBitClass() {
    var bytes = goodImage()
    bytes[4] = 1
    XCTAssertEqual(elfError(bytes), .notSixtyFourBit)
    bytes[4] = 0
    XCTAssertEqual(elfError(bytes), .notSixtyFourBit)
  }

  func testElfBigEndian() {
    var bytes = goodImage()
    bytes[5] = 2
    XCTAssertEqual(elfError(bytes), .notLittleEndian)
  }

  func testElfBadVersion() {
    var bytes = goodImage()
    bytes[6] = 0
    XCTAssertEqual(elfError(bytes), .badVersion)
  }

  func testElfNotAnExecutable() {
    XCTAssertEqual(elfError(ElfWriter.image(segments: [text, data], type: 3)), .notExecutable)  // ET_DYN
    XCTAssertEqual(elfError(ElfWriter.image(segments: [text, data], type: 1)), .notExecutable)  // ET_REL
  }

  func testElfWrongMachineReportsItsValue() {
    XCTAssertEqual(elfError(ElfWriter.image(segments: [text, data], machine: 3)), .wrongMachine(3))
    XCTAssertEqual(elfError(ElfWriter.image(segments: [text, data], machine: 0xb7)), .wrongMachine(0xb7))
    XCTAssertEqual(elfError(ElfWriter.image(segments: [text, data], machine: 0x3e00)), .wrongMachine(0x3e00))
  }

  func testElfProgramHeadersPastTheEnd() {
    // The table itself starts inside the file but runs out of it.
    var bytes = ElfWriter.image(segments: [text, data])
    bytes.replaceSubrange(32..<40, with: le64(UInt64(bytes.count) - 100))
    XCTAssertEqual(elfError(bytes), .badProgramHeaders)
    // phnum far larger than the file holds.
    XCTAssertEqual(elfError(ElfWriter.image(segments: [text, data], phnum: 0xffff)), .badProgramHeaders)
    // An offset so large that offset + size wraps around to a small number.
    bytes = ElfWriter.image(segments: [text, data])
    bytes.replaceSubrange(32..<40, with: le64(UInt64.max - 55))
    XCTAssertEqual(elfError(bytes), .badProgramHeaders)
    // A table that exactly fills a tiny file is fine as far as the table goes.
    let small = ElfWriter.image(
      entry: 0x40_0000, segments: [Segment(flags: Segment.pfX, offset: 0, vaddr: 0x40_0000, filesz: 120, memsz: 120)],
      size: 120)
    XCTAssertNil(elfError(small))
  }

  func testElfWrongProgramHeaderEntrySize() {
    XCTAssertEqual(elfError(ElfWriter.image(segments: [text, data], phentsize: 32)), .badProgramHeaders)
    XCTAssertEqual(elfError(ElfWriter.image(segments: [text, data], phentsize: 64)), .badProgramHeaders)
    XCTAssertEqual(elfError(ElfWriter.image(segments: [text, data], phentsize: 0)), .badProgramHeaders)
  }

  func testElfTooManySegments() {
    let many = (0..<9).map { i in
      Segment(
        flags: Segment.pfR | Segment.pfX, offset: 0, vaddr: 0x40_0000 + UInt64(i) * 0x1000, filesz: 0, memsz: 0x10)
    }
    XCTAssertEqual(elfError(ElfWriter.image(segments: many)), .tooManySegments)
    XCTAssertNil(elfError(ElfWriter.image(entry: 0x40_0000, segments: Array(many.prefix(ElfImage.maxSegments)))))
  }

  func testElfNoLoadableSegment() {
    XCTAssertEqual(elfError(ElfWriter.image(segments: [])), .noLoadableSegment)
    let note = Segment(type: 4, flags: Segment.pfR, offset: 0, vaddr: 0x40_0000, filesz: 0, memsz: 0x10)
    XCTAssertEqual(elfError(ElfWriter.image(segments: [note])), .noLoadableSegment)
    let empty = Segment(flags: Segment.pfR | Segment.pfX, offset: 0, vaddr: 0x40_0000, filesz: 0, memsz: 0)
    XCTAssertEqual(elfError(ElfWriter.image(segments: [empty])), .noLoadableSegment)
  }

  func testElfSegmentPastFileEnd() {
    var late = data
    late.offset = 0x2ff0
    late.filesz = 0x11
    XCTAssertEqual(elfError(ElfWriter.image(segments: [text, late])), .segmentPastFileEnd(1))
    late.filesz = 0x10  // ends exactly at the end of the file
    XCTAssertNil(elfError(ElfWriter.image(segments: [text, late])))
    late.offset = 0x1_0000
    late.filesz = 0
    XCTAssertEqual(elfError(ElfWriter.image(segments: [text, late])), .segmentPastFileEnd(1))
  }

  func testElfSegmentOffsetPlusFileSizeOverflow() {
    var wrap = text
    wrap.offset = 0xffff_ffff_ffff_f000
    wrap.filesz = 0x2000
    wrap.memsz = 0x2000
    XCTAssertEqual(elfError(ElfWriter.image(segments: [wrap, data])), .segmentPastFileEnd(0))
  }

  func testElfFileSizeOverMemorySize() {
    var fat = data
    fat.memsz = 0x8
    XCTAssertEqual(elfError(ElfWriter.image(segments: [text, fat])), .fileSizeOverMemorySize(1))
    fat.memsz = 0
    XCTAssertEqual(elfError(ElfWriter.image(segments: [text, fat])), .fileSizeOverMemorySize(1))
  }

  func testElfSegmentAtZeroOrBelowTheNullGuard() {
    var low = text
    low.vaddr = 0
    XCTAssertEqual(elfError(ElfWriter.image(entry: 0x10, segments: [low, data])), .segmentOutsideUserHalf(0))
    low.vaddr = UserSpace.lowest - 0x1000
    XCTAssertEqual(elfError(ElfWriter.image(segments: [low, data])), .segmentOutsideUserHalf(0))
  }

  func testElfSegmentInTheKernelHalf() {
    var high = text
    high.vaddr = 0xffff_ffff_8000_0000
    XCTAssertEqual(
      elfError(ElfWriter.image(entry: 0xffff_ffff_8000_0010, segments: [data, high])), .segmentOutsideUserHalf(1))
    // Past the image area but still in the user half: the stack lives there.
    high.vaddr = UserSpace.imageLimit
    XCTAssertEqual(elfError(ElfWriter.image(entry: UserSpace.imageLimit, segments: [high])), .segmentOutsideUserHalf(0))
    // Starting inside the image area but reaching one byte past it.
    high.vaddr = UserSpace.imageLimit - 0x100
    high.memsz = 0x101
    XCTAssertEqual(
      elfError(ElfWriter.image(entry: UserSpace.imageLimit - 0x100, segments: [high])), .segmentOutsideUserHalf(0))
  }

  func testElfVirtualAddressPlusMemorySizeWraps() {
    var wrap = data
    wrap.memsz = 0xffff_ffff_ffff_f000
    XCTAssertEqual(elfError(ElfWriter.image(segments: [text, wrap])), .segmentOutsideUserHalf(1))
    wrap.memsz = UInt64.max
    XCTAssertEqual(elfError(ElfWriter.image(segments: [text, wrap])), .segmentOutsideUserHalf(1))
  }

  func testElfTwoSegmentsSharingAPage() {
    var shared = data
    shared.vaddr = 0x40_0800
    shared.memsz = 0x10
    XCTAssertEqual(elfError(ElfWriter.image(segments: [text, shared])), .segmentsOverlap(0, 1))
    // Overlap is reported with program header indices, skipping other types.
    let note = Segment(type: 4, flags: 0, offset: 0, vaddr: 0, filesz: 0, memsz: 0)
    XCTAssertEqual(elfError(ElfWriter.image(segments: [note, shared, note, text])), .segmentsOverlap(1, 3))
    // One segment wholly inside another.
    var inner = data
    inner.vaddr = 0x40_2000
    inner.memsz = 0x10
    inner.filesz = 0
    XCTAssertEqual(elfError(ElfWriter.image(segments: [text, data, inner])), .segmentsOverlap(1, 2))
  }

  func testElfEntryOutsideCode() {
    XCTAssertEqual(elfError(ElfWriter.image(entry: 0x50_0000, segments: [text, data])), .entryOutsideCode)
    XCTAssertEqual(elfError(ElfWriter.image(entry: 0, segments: [text, data])), .entryOutsideCode)
    // One past the last byte of code.
    XCTAssertEqual(elfError(ElfWriter.image(entry: 0x40_0100, segments: [text, data])), .entryOutsideCode)
    XCTAssertNil(elfError(ElfWriter.image(entry: 0x40_00ff, segments: [text, data])))
    XCTAssertNil(elfError(ElfWriter.image(entry: 0x40_0000, segments: [text, data])))
  }

  func testElfEntryInANonExecutableSegment() {
    XCTAssertEqual(elfError(ElfWriter.image(entry: 0x40_1000, segments: [text, data])), .entryOutsideCode)
    var rw = text
    rw.flags = Segment.pfR | Segment.pfW
    XCTAssertEqual(elfError(ElfWriter.image(entry: 0x40_0010, segments: [rw, data])), .entryOutsideCode)
  }

  func testElfErrorsHaveReasons() {
    let all: [ElfError] = [
      .tooSmall, .badMagic, .notSixtyFourBit, .notLittleEndian, .badVersion, .notExecutable, .wrongMachine(3),
      .badProgramHeaders, .tooManySegments, .noLoadableSegment, .segmentPastFileEnd(0), .fileSizeOverMemorySize(0),
      .segmentOutsideUserHalf(0), .segmentsOverlap(0, 1), .entryOutsideCode,
    ]
    XCTAssertEqual(Set(all.map { "\($0.reason)" }).count, all.count)
    for error in all { XCTAssertGreaterThan(error.reason.utf8CodeUnitCount, 0) }
  }

  private func le64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) } }

  // MARK: FrameTable

  /// Owns the table's storage for one test, filled with junk so that the
  /// table's own initialisation is what the tests see.
  private final class FrameStorage {
    let owners: UnsafeMutableBufferPointer<UInt16>
    let stack: UnsafeMutableBufferPointer<UInt32>

    init(capacity: Int, stackExtra: Int = 0) {
      owners = .allocate(capacity: capacity)
      owners.initialize(repeating: 0xABCD)
      stack = .allocate(capacity: capacity + stackExtra)
      stack.initialize(repeating: 0xDEAD_BEEF)
    }

    deinit {
      owners.deallocate()
      stack.deallocate()
    }

    func table() -> FrameTable { FrameTable(owners: owners, freeStack: stack) }
  }

  private var storages: [FrameStorage] = []

  private func makeTable(capacity: Int = 64) -> FrameTable {
    let storage = FrameStorage(capacity: capacity)
    storages.append(storage)
    return storage.table()
  }

  override func tearDown() {
    storages.removeAll()
    super.tearDown()
  }

  private let env1 = FrameOwner.env(EnvID(1))
  private let env2 = FrameOwner.env(EnvID(2))

  private func frameError(_ body: () throws(FrameError) -> Void) -> FrameError? {
    do {
      try body()
      return nil
    } catch { return error }
  }

  func testFrameBasics() {
    XCTAssertEqual(Frame(number: 0x123).physicalAddress, 0x12_3000)
    XCTAssertEqual(Frame(number: 0).physicalAddress, 0)
    XCTAssertTrue(EnvID(1).isValid)
    XCTAssertTrue(EnvID(0xFFF0).isValid)
    XCTAssertFalse(EnvID(0).isValid)
    XCTAssertFalse(EnvID(0xFFF1).isValid)
    XCTAssertFalse(EnvID(0xFFFF).isValid)
  }

  func testFrameTableStartsUnusableAndEmpty() {
    var table = makeTable(capacity: 64)
    XCTAssertEqual(table.capacity, 64)
    XCTAssertEqual(table.freeCount, 0)
    XCTAssertEqual(table.usableCount, 0)
    for n in 0..<64 { XCTAssertEqual(table.owner(of: Frame(number: UInt64(n))), .unusable) }
    table.seal()
    XCTAssertNil(table.allocate(for: .kernel))
  }

  func testFrameTableAddAvailableCountsOnceAndClampsToCapacity() {
    var table = makeTable(capacity: 64)
    table.addAvailable(first: 10, count: 10)
    XCTAssertEqual(table.freeCount, 10)
    table.addAvailable(first: 15, count: 10)  // overlaps 15...19
    XCTAssertEqual(table.freeCount, 15)
    XCTAssertEqual(table.usableCount, 15)
    table.addAvailable(first: 60, count: 100)  // only 60...63 exist
    XCTAssertEqual(table.usableCount, 19)
    table.addAvailable(first: 64, count: 1)
    table.addAvailable(first: UInt64.max, count: UInt64.max)
    table.addAvailable(first: 1000, count: 0)
    XCTAssertEqual(table.usableCount, 19)
    table.addAvailable(first: 40, count: 0)
    XCTAssertEqual(table.owner(of: Frame(number: 40)), .unusable)
    table.addAvailable(first: 30, count: UInt64.max)  // first + count would overflow
    XCTAssertEqual(table.usableCount, 15 + 34)
    XCTAssertEqual(table.freeCount, table.usableCount)
    XCTAssertEqual(table.owner(of: Frame(number: 9)), .unusable)
    XCTAssertEqual(table.owner(of: Frame(number: 10)), .free)
    XCTAssertEqual(table.owner(of: Frame(number: 63)), .free)
  }

  func testFrameTableReserveBeforeSeal() {
    var table = makeTable(capacity: 64)
    table.addAvailable(first: 8, count: 56)
    table.reserve(first: 0, count: 12)  // 0...7 unusable: ignored; 8...11 become the kernel's
    XCTAssertEqual(table.freeCount, 52)
    XCTAssertEqual(table.usableCount, 56)
    XCTAssertEqual(table.owner(of: Frame(number: 0)), .unusable)
    XCTAssertEqual(table.owner(of: Frame(number: 8)), .kernel)
    XCTAssertEqual(table.owner(of: Frame(number: 11)), .kernel)
    XCTAssertEqual(table.owner(of: Frame(number: 12)), .free)
    table.reserve(first: 10, count: 4)  // overlaps: only 12 and 13 are new
    XCTAssertEqual(table.freeCount, 50)
    table.reserve(first: 60, count: UInt64.max)
    XCTAssertEqual(table.freeCount, 46)
    table.reserve(first: 64, count: 10)
    // addAvailable never takes a reserved frame back.
    table.addAvailable(first: 0, count: 64)
    XCTAssertEqual(table.owner(of: Frame(number: 8)), .kernel)
    XCTAssertEqual(table.usableCount, 64)
    XCTAssertEqual(table.freeCount, 54)
    table.seal()
    var handed: [UInt64] = []
    while let frame = table.allocate(for: .kernel) { handed.append(frame.number) }
    XCTAssertEqual(handed, Array(0...7) + Array(14...59))
  }

  func testFrameTableHandsOutLowFramesFirstAndIsExhausted() {
    var table = makeTable(capacity: 32)
    table.addAvailable(first: 20, count: 12)
    table.addAvailable(first: 4, count: 4)
    table.reserve(first: 21, count: 1)
    table.seal()
    let initial = table.freeCount
    XCTAssertEqual(initial, 15)
    var order: [UInt64] = []
    while let frame = table.allocate(for: env1) {
      order.append(frame.number)
      XCTAssertEqual(table.owner(of: frame), env1)
    }
    XCTAssertEqual(order, [4, 5, 6, 7, 20] + Array(22...31))
    XCTAssertEqual(table.freeCount, 0)
    XCTAssertNil(table.allocate(for: env1))
    XCTAssertNil(table.allocate(for: .kernel))
    XCTAssertEqual(table.freeCount, 0)
  }

  func testFrameTableAllocateNeedsSealAndARealOwner() {
    var table = makeTable(capacity: 16)
    table.addAvailable(first: 0, count: 16)
    XCTAssertNil(table.allocate(for: .kernel), "before seal")
    table.seal()
    let invalid: [FrameOwner] = [
      .free, .unusable, .env(EnvID(0)), .env(EnvID(0xFFF1)), .env(EnvID(0xFFFE)), .env(EnvID(0xFFFF)),
    ]
    for owner in invalid {
      XCTAssertNil(table.allocate(for: owner), "\(owner)")
    }
    XCTAssertEqual(table.freeCount, 16)
    let top = table.allocate(for: .env(EnvID(0xFFF0)))
    XCTAssertEqual(top, Frame(number: 0))
    XCTAssertEqual(table.owner(of: Frame(number: 0)), .env(EnvID(0xFFF0)))
  }

  func testFrameTableFreeChecksOwnerAndState() throws {
    var table = makeTable(capacity: 16)
    table.addAvailable(first: 2, count: 14)
    table.seal()
    let initial = table.freeCount
    let frame = try XCTUnwrap(table.allocate(for: env1))
    XCTAssertEqual(frame.number, 2)
    XCTAssertEqual(frameError { () throws(FrameError) in try table.free(frame, by: env2) }, .notOwner)
    XCTAssertEqual(frameError { () throws(FrameError) in try table.free(frame, by: .kernel) }, .notOwner)
    XCTAssertEqual(frameError { () throws(FrameError) in try table.free(frame, by: .free) }, .notOwner)
    XCTAssertEqual(frameError { () throws(FrameError) in try table.free(frame, by: .env(EnvID(0))) }, .notOwner)
    XCTAssertEqual(table.owner(of: frame), env1)
    XCTAssertNil(frameError { () throws(FrameError) in try table.free(frame, by: env1) })
    XCTAssertEqual(table.freeCount, initial)
    XCTAssertEqual(table.owner(of: frame), .free)
    XCTAssertEqual(frameError { () throws(FrameError) in try table.free(frame, by: env1) }, .notAllocated)
    XCTAssertEqual(table.freeCount, initial)
    // A frame that was never RAM cannot be freed into the pool.
    XCTAssertEqual(frameError { () throws(FrameError) in try table.free(Frame(number: 0), by: .kernel) }, .notAllocated)
    XCTAssertEqual(frameError { () throws(FrameError) in try table.free(Frame(number: 16), by: env1) }, .outOfRange)
    XCTAssertEqual(
      frameError { () throws(FrameError) in try table.free(Frame(number: UInt64.max), by: env1) }, .outOfRange)
    XCTAssertEqual(table.freeCount, initial)
    // The frame just freed is the next one handed out.
    let again = try XCTUnwrap(table.allocate(for: env2))
    XCTAssertEqual(again, frame)
  }

  func testFrameTableKernelMayFreeWhatItReserved() throws {
    var table = makeTable(capacity: 8)
    table.addAvailable(first: 0, count: 8)
    table.reserve(first: 0, count: 8)
    table.seal()
    XCTAssertEqual(table.freeCount, 0)
    XCTAssertEqual(frameError { () throws(FrameError) in try table.free(Frame(number: 5), by: env1) }, .notOwner)
    XCTAssertNil(frameError { () throws(FrameError) in try table.free(Frame(number: 5), by: .kernel) })
    XCTAssertEqual(table.freeCount, 1)
    XCTAssertEqual(table.allocate(for: env1), Frame(number: 5))
    XCTAssertNil(table.allocate(for: env1))
  }

  func testFrameTableReleaseAllReturnsExactCountAndRestoresFreeCount() throws {
    var table = makeTable(capacity: 100)
    table.addAvailable(first: 0, count: 90)
    table.reserve(first: 0, count: 5)
    table.seal()
    let initial = table.freeCount
    XCTAssertEqual(initial, 85)
    for _ in 0..<7 { XCTAssertNotNil(table.allocate(for: env1)) }
    for _ in 0..<3 { XCTAssertNotNil(table.allocate(for: env2)) }
    for _ in 0..<4 { XCTAssertNotNil(table.allocate(for: env1)) }
    let kernelFrame = try XCTUnwrap(table.allocate(for: .kernel))
    XCTAssertEqual(table.freeCount, initial - 15)
    XCTAssertEqual(table.count(of: env1), 11)

    XCTAssertEqual(table.releaseAll(of: EnvID(1)), 11)
    XCTAssertEqual(table.freeCount, initial - 4)
    XCTAssertEqual(table.count(of: env1), 0)
    XCTAssertEqual(table.count(of: env2), 3)
    XCTAssertEqual(table.releaseAll(of: EnvID(1)), 0)
    XCTAssertEqual(table.releaseAll(of: EnvID(3)), 0)
    XCTAssertEqual(table.releaseAll(of: EnvID(2)), 3)
    XCTAssertNil(frameError { () throws(FrameError) in try table.free(kernelFrame, by: .kernel) })
    XCTAssertEqual(table.freeCount, initial)
    XCTAssertEqual(table.count(of: .kernel), 5)
    XCTAssertEqual(table.count(of: .free), initial)

    // Released frames are whole again: all of them can be handed out once more.
    var n = 0
    while table.allocate(for: env2) != nil { n += 1 }
    XCTAssertEqual(n, initial)
    XCTAssertEqual(table.releaseAll(of: EnvID(2)), initial)
    XCTAssertEqual(table.freeCount, initial)
  }

  func testFrameTableReleaseAllOfInvalidIDsTouchesNothing() {
    var table = makeTable(capacity: 16)
    table.addAvailable(first: 4, count: 8)
    table.reserve(first: 4, count: 2)
    table.seal()
    for raw: UInt16 in [0, 0xFFF1, 0xFFFE, 0xFFFF] { XCTAssertEqual(table.releaseAll(of: EnvID(raw)), 0, "\(raw)") }
    XCTAssertEqual(table.freeCount, 6)
    XCTAssertEqual(table.owner(of: Frame(number: 0)), .unusable)
    XCTAssertEqual(table.owner(of: Frame(number: 4)), .kernel)
  }

  func testFrameTableIgnoresPhaseOneCallsAfterSeal() {
    var table = makeTable(capacity: 16)
    table.addAvailable(first: 0, count: 8)
    table.seal()
    table.addAvailable(first: 8, count: 8)
    table.reserve(first: 0, count: 8)
    table.seal()
    XCTAssertEqual(table.freeCount, 8)
    XCTAssertEqual(table.usableCount, 8)
    XCTAssertEqual(table.owner(of: Frame(number: 0)), .free)
    XCTAssertEqual(table.owner(of: Frame(number: 8)), .unusable)
  }

  func testFrameTableOutOfRange() {
    var table = makeTable(capacity: 4)
    table.addAvailable(first: 0, count: 4)
    table.seal()
    XCTAssertEqual(table.owner(of: Frame(number: 4)), .unusable)
    XCTAssertEqual(table.owner(of: Frame(number: UInt64.max)), .unusable)
    XCTAssertEqual(table.owner(of: Frame(number: 3)), .free)
  }

  func testFrameTableWithZeroCapacity() {
    var table = makeTable(capacity: 0)
    table.addAvailable(first: 0, count: 10)
    table.reserve(first: 0, count: 10)
    table.seal()
    XCTAssertEqual(table.capacity, 0)
    XCTAssertNil(table.allocate(for: .kernel))
    XCTAssertEqual(table.releaseAll(of: EnvID(1)), 0)
  }

  /// For tests that look at the storage behind the table.
  private func makeStorage(capacity: Int) -> FrameStorage {
    let storage = FrameStorage(capacity: capacity)
    storages.append(storage)
    return storage
  }

  func testFrameTableFrameNeverHandedOutIsFreeAndBootTouchesNoOtherSlot() throws {
    let storage = makeStorage(capacity: 4096)
    var table = storage.table()
    table.addAvailable(first: 16, count: 4000)  // 16...4015
    table.reserve(first: 0, count: 20)
    table.seal()
    XCTAssertEqual(table.allocate(for: env1), Frame(number: 20))
    XCTAssertEqual(table.owner(of: Frame(number: 3000)), .free)
    XCTAssertEqual(table.owner(of: Frame(number: 4015)), .free)
    XCTAssertEqual(table.owner(of: Frame(number: 4016)), .unusable)
    XCTAssertEqual(table.owner(of: Frame(number: 15)), .unusable)
    XCTAssertEqual(table.owner(of: Frame(number: 19)), .kernel)
    XCTAssertEqual(frameError { () throws(FrameError) in try table.free(Frame(number: 3000), by: env1) }, .notAllocated)
    XCTAssertEqual(
      frameError { () throws(FrameError) in try table.free(Frame(number: 3000), by: .kernel) }, .notAllocated)
    XCTAssertEqual(table.freeCount, 3995)
    XCTAssertEqual(table.count(of: .free), 3995)
    XCTAssertEqual(table.count(of: .unusable), 96)
    // Sealing and a first allocation cost the same on any RAM size: slots far
    // above the frames written still hold the storage's junk.
    XCTAssertEqual(storage.owners[3000], 0xABCD)
    XCTAssertEqual(storage.owners[4095], 0xABCD)
  }

  func testFrameTableSkipsReservedFramesInsideARun() {
    var table = makeTable(capacity: 64)
    table.addAvailable(first: 0, count: 32)
    table.reserve(first: 4, count: 2)
    table.reserve(first: 10, count: 1)
    table.reserve(first: 31, count: 1)
    table.seal()
    XCTAssertEqual(table.freeCount, 28)
    var order: [UInt64] = []
    while let frame = table.allocate(for: env1) { order.append(frame.number) }
    XCTAssertEqual(order, [0, 1, 2, 3, 6, 7, 8, 9] + Array(11...30))
    XCTAssertEqual(table.count(of: .kernel), 4)
  }

  func testFrameTableReservedFrameFreedAheadOfTheFrontierIsHandedOutOnce() throws {
    var table = makeTable(capacity: 16)
    table.addAvailable(first: 0, count: 16)
    table.reserve(first: 8, count: 4)
    table.seal()
    XCTAssertEqual(table.allocate(for: env1), Frame(number: 0))
    XCTAssertEqual(table.allocate(for: env1), Frame(number: 1))
    XCTAssertNil(frameError { () throws(FrameError) in try table.free(Frame(number: 9), by: .kernel) })
    XCTAssertEqual(table.freeCount, 11)
    var order: [UInt64] = []
    while let frame = table.allocate(for: env2) { order.append(frame.number) }
    XCTAssertEqual(order, [2, 3, 4, 5, 6, 7, 9, 12, 13, 14, 15])
    // Once the frontier has passed it, a freed reserved frame goes on the stack.
    XCTAssertNil(frameError { () throws(FrameError) in try table.free(Frame(number: 10), by: .kernel) })
    XCTAssertEqual(table.allocate(for: env1), Frame(number: 10))
    XCTAssertNil(table.allocate(for: env1))
    XCTAssertEqual(table.count(of: .kernel), 2)
  }

  func testFrameTableCountsExactlyWithOverlapsAndReservationsAcrossRunEdges() {
    var table = makeTable(capacity: 128)
    table.addAvailable(first: 10, count: 10)  // 10...19
    table.addAvailable(first: 30, count: 10)  // 30...39
    table.addAvailable(first: 20, count: 10)  // touches both: one run 10...39
    XCTAssertEqual(table.usableCount, 30)
    table.addAvailable(first: 5, count: 40)  // covers it: 5...44
    table.addAvailable(first: 50, count: 5)  // 50...54
    table.addAvailable(first: 12, count: 3)  // inside
    XCTAssertEqual(table.usableCount, 45)
    XCTAssertEqual(table.freeCount, 45)
    table.reserve(first: 0, count: 7)  // across the start of 5...44: only 5, 6
    XCTAssertEqual(table.freeCount, 43)
    table.reserve(first: 43, count: 10)  // across a gap: 43, 44, 50, 51, 52
    XCTAssertEqual(table.freeCount, 38)
    table.reserve(first: 54, count: 100)  // across the end of 50...54: only 54
    table.reserve(first: 43, count: 2)  // already the kernel's
    table.reserve(first: 45, count: 5)  // in the gap
    XCTAssertEqual(table.freeCount, 37)
    XCTAssertEqual(table.usableCount, 45)
    XCTAssertEqual(table.count(of: .kernel), 8)
    XCTAssertEqual(table.count(of: .free), 37)
    XCTAssertEqual(table.count(of: .unusable), 128 - 45)
    table.addAvailable(first: 45, count: 5)  // fills the gap: one run 5...54
    XCTAssertEqual(table.usableCount, 50)
    XCTAssertEqual(table.freeCount, 42)
    XCTAssertEqual(table.owner(of: Frame(number: 44)), .kernel)
    XCTAssertEqual(table.owner(of: Frame(number: 45)), .free)
    table.seal()
    var order: [UInt64] = []
    while let frame = table.allocate(for: .kernel) { order.append(frame.number) }
    XCTAssertEqual(order, Array(7...42) + Array(45...49) + [53])
    XCTAssertEqual(table.count(of: .kernel), 50)
  }

  func testFrameTableIgnoresRunsPastTheListButCountsTheRest() {
    var table = makeTable(capacity: 512)
    for i in 0..<64 { table.addAvailable(first: UInt64(i * 4), count: 2) }  // 64 separate runs
    XCTAssertEqual(table.usableCount, 128)
    table.addAvailable(first: 400, count: 2)  // a 65th run: no room
    XCTAssertEqual(table.usableCount, 128)
    XCTAssertEqual(table.owner(of: Frame(number: 400)), .unusable)
    table.addAvailable(first: 254, count: 1)  // touches 252...253: merged, no new run
    XCTAssertEqual(table.usableCount, 129)
    table.addAvailable(first: 1, count: 3)  // joins 0...1 and 4...5: one run fewer
    XCTAssertEqual(table.usableCount, 131)
    table.addAvailable(first: 400, count: 2)
    XCTAssertEqual(table.usableCount, 133)
    XCTAssertEqual(table.owner(of: Frame(number: 400)), .free)
    table.seal()
    var n = 0
    while table.allocate(for: env1) != nil { n += 1 }
    XCTAssertEqual(n, 133)
    XCTAssertEqual(table.count(of: env1), 133)
  }

  func testFrameTableReleaseAllAfterManyAllocationsAcrossTwoRuns() {
    var table = makeTable(capacity: 256)
    table.addAvailable(first: 8, count: 40)  // 8...47
    table.addAvailable(first: 100, count: 100)  // 100...199
    table.reserve(first: 100, count: 4)
    table.seal()
    XCTAssertEqual(table.freeCount, 136)
    var held1: Set<UInt64> = []
    var held2: Set<UInt64> = []
    for i in 0..<120 {
      guard let frame = table.allocate(for: i % 3 == 0 ? env2 : env1) else { return XCTFail("ran out at \(i)") }
      if i % 3 == 0 { held2.insert(frame.number) } else { held1.insert(frame.number) }
    }
    XCTAssertEqual(held1.count, 80)
    XCTAssertTrue(held1.contains { $0 < 48 } && held1.contains { $0 >= 100 })
    XCTAssertEqual(table.releaseAll(of: EnvID(1)), 80)
    XCTAssertEqual(table.freeCount, 136 - 40)
    for number in held1 { XCTAssertEqual(table.owner(of: Frame(number: number)), .free) }
    for number in held2 { XCTAssertEqual(table.owner(of: Frame(number: number)), env2) }
    XCTAssertEqual(table.releaseAll(of: EnvID(2)), 40)
    XCTAssertEqual(table.freeCount, 136)
    var again: Set<UInt64> = []
    while let frame = table.allocate(for: env1) { XCTAssertTrue(again.insert(frame.number).inserted) }
    XCTAssertEqual(again, Set(Array(8...47) + Array(104...199)))
    XCTAssertEqual(table.releaseAll(of: EnvID(1)), 136)
  }

  func testFrameTableExhaustionThenFreeThenAllocateAgain() throws {
    var table = makeTable(capacity: 32)
    table.addAvailable(first: 0, count: 8)
    table.addAvailable(first: 16, count: 4)
    table.seal()
    var order: [UInt64] = []
    while let frame = table.allocate(for: env1) { order.append(frame.number) }
    XCTAssertEqual(order, Array(0...7) + Array(16...19))
    XCTAssertEqual(table.freeCount, 0)
    XCTAssertNil(table.allocate(for: .kernel))
    XCTAssertNil(frameError { () throws(FrameError) in try table.free(Frame(number: 5), by: env1) })
    XCTAssertNil(frameError { () throws(FrameError) in try table.free(Frame(number: 17), by: env1) })
    XCTAssertEqual(table.freeCount, 2)
    XCTAssertEqual(table.allocate(for: env2), Frame(number: 17))
    XCTAssertEqual(table.allocate(for: env2), Frame(number: 5))
    XCTAssertNil(table.allocate(for: env2))
    XCTAssertEqual(table.releaseAll(of: EnvID(1)), 10)
    XCTAssertEqual(table.freeCount, 10)
    var n = 0
    while table.allocate(for: .kernel) != nil { n += 1 }
    XCTAssertEqual(n, 10)
    XCTAssertEqual(table.count(of: .kernel), 10)
    XCTAssertEqual(table.count(of: env2), 2)
  }

  /// The table against a plain array of owners, over random maps, reservations,
  /// allocations, frees and releases.
  func testFrameTableMatchesASimpleModel() {
    var seed: UInt64 = 0x5EED
    func random(_ bound: Int) -> Int {  // SplitMix64: deterministic across runs
      seed &+= 0x9E37_79B9_7F4A_7C15
      var z = seed
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return Int((z ^ (z >> 31)) % UInt64(bound))
    }
    let owners: [FrameOwner] = [.kernel, env1, env2, .env(EnvID(3))]
    for round in 0..<60 {
      let capacity = random(160)
      var table = makeTable(capacity: capacity)
      var model = [FrameOwner](repeating: .unusable, count: capacity)
      func check(_ step: String) {
        XCTAssertEqual(table.freeCount, model.filter { $0 == .free }.count, "round \(round) \(step)")
        XCTAssertEqual(table.usableCount, model.filter { $0 != .unusable }.count, "round \(round) \(step)")
        for (n, owner) in model.enumerated() {
          XCTAssertEqual(table.owner(of: Frame(number: UInt64(n))), owner, "round \(round) \(step) frame \(n)")
        }
      }
      func expectedError(_ n: Int, _ by: FrameOwner) -> FrameError? {
        guard n < capacity else { return .outOfRange }
        if model[n] == .free || model[n] == .unusable { return .notAllocated }
        return model[n] == by ? nil : .notOwner
      }
      for _ in 0..<random(12) {
        let first = random(capacity + 20)
        let count = random(40)
        let frames = min(first, capacity)..<min(first + count, capacity)
        switch random(4) {
        case 0:
          table.reserve(first: UInt64(first), count: UInt64(count))
          for n in frames where model[n] == .free { model[n] = .kernel }
        case 1:
          let error = frameError { () throws(FrameError) in try table.free(Frame(number: UInt64(first)), by: .kernel) }
          XCTAssertEqual(error, expectedError(first, .kernel))
          if error == nil { model[first] = .free }
        default:
          table.addAvailable(first: UInt64(first), count: UInt64(count))
          for n in frames where model[n] == .unusable { model[n] = .free }
        }
      }
      check("phase 1")
      table.seal()
      var freedSinceSeal = false
      for step in 0..<200 {
        let owner = owners[random(owners.count)]
        switch random(6) {
        case 0, 1, 2:
          let frame = table.allocate(for: owner)
          guard let lowest = model.firstIndex(of: .free) else {
            XCTAssertNil(frame)
            continue
          }
          guard let frame else { return XCTFail("round \(round) step \(step): nil with frames free") }
          let n = Int(frame.number)
          XCTAssertEqual(model[n], .free)
          if !freedSinceSeal { XCTAssertEqual(n, lowest, "lowest first until something is freed") }
          model[n] = owner
        case 3, 4:
          let n = random(capacity + 2)
          let error = frameError { () throws(FrameError) in try table.free(Frame(number: UInt64(n)), by: owner) }
          XCTAssertEqual(error, expectedError(n, owner), "round \(round) step \(step) frame \(n)")
          if error == nil {
            model[n] = .free
            freedSinceSeal = true
          }
        default:
          guard case .env(let id) = owner else { continue }
          let held = model.indices.filter { model[$0] == owner }
          XCTAssertEqual(table.releaseAll(of: id), held.count)
          for n in held { model[n] = .free }
          freedSinceSeal = freedSinceSeal || !held.isEmpty
        }
        XCTAssertEqual(table.freeCount, model.filter { $0 == .free }.count, "round \(round) step \(step)")
      }
      check("phase 2")
      for owner in owners + [.free, .unusable] {
        XCTAssertEqual(table.count(of: owner), model.filter { $0 == owner }.count, "round \(round)")
      }
    }
  }

  // MARK: BootConfig

  private func parse(_ line: String) -> Result<BootConfig, BootConfigError> {
    parse(Array(line.utf8))
  }

  private func parse(_ bytes: [UInt8]) -> Result<BootConfig, BootConfigError> {
    bytes.withUnsafeBytes { buffer in
      do throws(BootConfigError) { return .success(try BootConfig.parse(buffer)) } catch { return .failure(error) }
    }
  }

  private func configError(_ line: String) -> BootConfigError? {
    if case .failure(let error) = parse(line) { return error }
    return nil
  }

  /// The span of the first occurrence of `part` in `line`, for checking reported spans.
  private func span(of part: String, in line: String) -> ByteSpan {
    let bytes = Array(line.utf8), needle = Array(part.utf8)
    for i in 0...(bytes.count - needle.count) where Array(bytes[i..<(i + needle.count)]) == needle {
      return ByteSpan(offset: i, count: needle.count)
    }
    XCTFail("\(part) not in \(line)")
    return ByteSpan(offset: 0, count: 0)
  }

  private func text(_ span: ByteSpan?, in line: String) -> String? {
    guard let span else { return nil }
    return String(decoding: Array(line.utf8)[span.offset..<(span.offset + span.count)], as: UTF8.self)
  }

  func testBootConfigGoodLineWithModulePath() throws {
    let line = "/boot/app-hello.elf name=hello frames=64 slices=1"
    let config = try parse(line).get()
    XCTAssertEqual(config, BootConfig(name: ByteSpan(offset: 25, count: 5), frames: 64, slices: 1, arg: nil))
    XCTAssertEqual(text(config.name, in: line), "hello")
    Array(line.utf8).withUnsafeBytes { XCTAssertEqual(Array(config.name.bytes(in: $0)), Array("hello".utf8)) }
  }

  func testBootConfigArgExtraSpacesAnyOrderAndNul() throws {
    let line = "  slices=64   arg=run_2.fast-A  name=net-echo-2 frames=65536 \0name=x junk"
    let config = try parse(line).get()
    XCTAssertEqual(text(config.name, in: line), "net-echo-2")
    XCTAssertEqual(text(config.arg, in: line), "run_2.fast-A")
    XCTAssertEqual(config.frames, 65536)
    XCTAssertEqual(config.slices, 64)
    XCTAssertEqual(config.name, span(of: "net-echo-2", in: line))
  }

  func testBootConfigBoundaries() throws {
    let name15 = String(repeating: "a", count: 15)
    let arg64 = String(repeating: "Z", count: 64)
    let config = try parse("name=\(name15) frames=1 slices=1 arg=\(arg64)").get()
    XCTAssertEqual(config.name.count, 15)
    XCTAssertEqual(config.arg?.count, 64)
    XCTAssertEqual(try parse("name=0 frames=0001 slices=064").get().frames, 1)
  }

  func testBootConfigMissingKeys() {
    XCTAssertEqual(configError(""), .missingName)
    XCTAssertEqual(configError("/boot/module"), .missingName)
    XCTAssertEqual(configError("frames=1 slices=1"), .missingName)
    XCTAssertEqual(configError("name=a slices=1"), .missingFrames)
    XCTAssertEqual(configError("name=a frames=1"), .missingSlices)
    XCTAssertEqual(configError("name=a frames=1 \0slices=1"), .missingSlices)
  }

  func testBootConfigUnknownAndDuplicateKeys() {
    let line = "name=a frames=1 slices=1 color=red"
    XCTAssertEqual(configError(line), .unknownKey(span(of: "color", in: line)))
    XCTAssertEqual(configError("name=a =x"), .unknownKey(ByteSpan(offset: 7, count: 0)))
    XCTAssertEqual(configError("Name=a"), .unknownKey(ByteSpan(offset: 0, count: 4)))
    XCTAssertEqual(configError("names=a"), .unknownKey(ByteSpan(offset: 0, count: 5)))
    XCTAssertEqual(configError("nam=a"), .unknownKey(ByteSpan(offset: 0, count: 3)))
    XCTAssertEqual(configError("name=a frames=1 name=b"), .duplicateKey(ByteSpan(offset: 16, count: 4)))
    XCTAssertEqual(configError("frames=1 frames=1"), .duplicateKey(ByteSpan(offset: 9, count: 6)))
    XCTAssertEqual(configError("slices=1 slices=2"), .duplicateKey(ByteSpan(offset: 9, count: 6)))
    XCTAssertEqual(configError("arg=a arg=b"), .duplicateKey(ByteSpan(offset: 6, count: 3)))
  }

  func testBootConfigBadName() {
    for name in ["", "Hello", "he_llo", "he.llo", "hé", String(repeating: "a", count: 16), "a=b"] {
      XCTAssertEqual(configError("name=\(name) frames=1 slices=1"), .badName, name)
    }
  }

  func testBootConfigBadNumbers() {
    for value in ["", "12a", "-1", "+1", "0x10", "1_000", "1.5", "18446744073709551616", "99999999999999999999999"] {
      let line = "name=a frames=\(value) slices=1"
      XCTAssertEqual(configError(line), .badNumber(ByteSpan(offset: 14, count: value.utf8.count)), value)
    }
    XCTAssertEqual(configError("name=a frames=1 slices=x"), .badNumber(ByteSpan(offset: 23, count: 1)))
  }

  func testBootConfigNumbersOutOfRange() {
    XCTAssertEqual(configError("name=a frames=0 slices=1"), .outOfRange(ByteSpan(offset: 14, count: 1)))
    XCTAssertEqual(configError("name=a frames=65537 slices=1"), .outOfRange(ByteSpan(offset: 14, count: 5)))
    XCTAssertEqual(
      configError("name=a frames=18446744073709551615 slices=1"), .outOfRange(ByteSpan(offset: 14, count: 20)))
    XCTAssertEqual(configError("name=a frames=1 slices=0"), .outOfRange(ByteSpan(offset: 23, count: 1)))
    XCTAssertEqual(configError("name=a frames=1 slices=65"), .outOfRange(ByteSpan(offset: 23, count: 2)))
  }

  func testBootConfigBadArg() {
    for arg in ["", "a/b", "x=y", "a\tb", "ü", String(repeating: "a", count: 65)] {
      XCTAssertEqual(configError("name=a frames=1 slices=1 arg=\(arg)"), .badArg, arg)
    }
  }

  func testBootConfigTooLong() {
    let body = "name=a frames=1 slices=1 "
    let exact = body + String(repeating: "p", count: 1024 - body.utf8.count)
    XCTAssertEqual(exact.utf8.count, 1024)
    XCTAssertNoThrow(try parse(exact).get())
    XCTAssertEqual(configError(exact + "p"), .tooLong)
    XCTAssertNoThrow(try parse(exact + "\0" + String(repeating: "q", count: 5000)).get())
    XCTAssertEqual(configError(String(repeating: " ", count: 100_000)), .tooLong)
  }

  func testBootConfigErrorsHaveDistinctReasons() {
    let all: [BootConfigError] = [
      .missingName, .missingFrames, .missingSlices, .unknownKey(ByteSpan(offset: 0, count: 0)),
      .duplicateKey(ByteSpan(offset: 0, count: 0)), .badName, .badNumber(ByteSpan(offset: 0, count: 0)),
      .outOfRange(ByteSpan(offset: 0, count: 0)), .badArg, .tooLong,
    ]
    XCTAssertEqual(Set(all.map { "\($0.reason)" }).count, all.count)
  }

  // MARK: KernelCall

  func testKernelCallNumbersAreUniqueAndDenseFromZero() {
    let raws = KernelCall.allCases.map(\.rawValue).sorted()
    XCTAssertEqual(Set(raws).count, raws.count, "numbers are unique")
    let highest = raws.last ?? 0
    XCTAssertEqual(raws, Array(0...highest), "no gaps")
    for call in KernelCall.allCases { XCTAssertEqual(KernelCall(rawValue: call.rawValue), call) }
    XCTAssertNil(KernelCall(rawValue: highest + 1))
  }

  func testKernelCallSpecNamesAreUnique() {
    let names = KernelCall.allCases.map { "\($0.spec.name)" }
    XCTAssertEqual(Set(names).count, names.count, "\(names)")
    for name in names { XCTAssertFalse(name.isEmpty) }
  }

  func testKernelCallSpecErrorsAreRealExoErrors() {
    for call in KernelCall.allCases {
      for error in call.spec.errors {
        XCTAssertTrue(ExoError.allCases.contains(error), "\(call.spec.name): \(error)")
        XCTAssertEqual(ExoError(rawValue: error.rawValue), error)
        XCTAssertNotEqual(error.rawValue, 0, "zero is success")
      }
      XCTAssertEqual(Set(call.spec.errors.map(\.rawValue)).count, call.spec.errors.count, "\(call.spec.name)")
    }
    XCTAssertEqual(Set(ExoError.allCases.map(\.rawValue)).count, ExoError.allCases.count)
    XCTAssertEqual(Set(ExoError.allCases.map { "\($0.name)" }).count, ExoError.allCases.count)
  }
}
