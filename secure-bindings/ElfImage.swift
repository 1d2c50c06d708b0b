// Validates an untrusted ELF64 app image (a Multiboot module) before the
// kernel loads it: every offset, size and address is checked here, once.

/// One PT_LOAD segment, as the loader needs it.
public struct ElfSegment: Equatable, Sendable {
  public var virtualAddress: UInt64
  public var memorySize: UInt64
  public var fileOffset: UInt64
  public var fileSize: UInt64
  public var writable: Bool
  public var executable: Bool

  public init(
    virtualAddress: UInt64, memorySize: UInt64, fileOffset: UInt64, fileSize: UInt64, writable: Bool,
    executable: Bool
  ) {
    self.virtualAddress = virtualAddress
    self.memorySize = memorySize
    self.fileOffset = fileOffset
    self.fileSize = fileSize
    self.writable = writable
    self.executable = executable
  }

  /// The first byte past the segment in memory; validated segments never wrap.
  public var end: UInt64 { virtualAddress + memorySize }
}

/// Why an image was refused. Segment numbers are indices into the program
/// header table (as `readelf -l` counts them), so a refusal can be traced.
public enum ElfError: Error, Equatable, Sendable {
  case tooSmall
  case badMagic
  case notSixtyFourBit
  case notLittleEndian
  case badVersion
  case notExecutable
  case wrongMachine(UInt16)
  /// e_phentsize is not 56, or the table runs past the end of the file.
  case badProgramHeaders
  /// More than `ElfImage.maxSegments` PT_LOAD entries.
  case tooManySegments
  case noLoadableSegment
  /// p_offset + p_filesz lies beyond the module.
  case segmentPastFileEnd(Int)
  case fileSizeOverMemorySize(Int)
  /// Starts below `UserSpace.lowest`, wraps, or ends above `UserSpace.imageLimit`.
  case segmentOutsideUserHalf(Int)
  /// The two segments' 4 KiB page ranges intersect, so one page would need two sets of rights.
  case segmentsOverlap(Int, Int)
  /// The entry point is not inside an executable PT_LOAD segment.
  case entryOutsideCode

  public var reason: StaticString {
    switch self {
    case .tooSmall: return "image smaller than an ELF header"
    case .badMagic: return "bad magic"
    case .notSixtyFourBit: return "not a 64-bit ELF"
    case .notLittleEndian: return "not little-endian"
    case .badVersion: return "unknown ELF version"
    case .notExecutable: return "not an executable (ET_EXEC)"
    case .wrongMachine: return "not built for x86-64"
    case .badProgramHeaders: return "bad program header table"
    case .tooManySegments: return "too many loadable segments"
    case .noLoadableSegment: return "no loadable segment"
    case .segmentPastFileEnd: return "segment data runs past the end of the image"
    case .fileSizeOverMemorySize: return "segment file size exceeds its memory size"
    case .segmentOutsideUserHalf: return "segment reaches outside the user image area"
    case .segmentsOverlap: return "segments share a page"
    case .entryOutsideCode: return "entry point is not in an executable segment"
    }
  }
}

/// A validated image: the loader may trust every field without re-checking.
public struct ElfImage: Sendable {
  public static let maxSegments = 8

  public let entry: UInt64
  /// PT_LOAD segments with a non-zero memory size, in file order.
  public let segments: [ElfSegment]

  private static let headerSize = 64
  private static let programHeaderSize = 56
  private static let loadType: UInt32 = 1
  private static let flagExecute: UInt32 = 1
  private static let flagWrite: UInt32 = 2

  public static func validate(_ bytes: UnsafeRawBufferPointer) throws(ElfError) -> ElfImage {
    guard bytes.count >= headerSize else { throw .tooSmall }
    guard bytes[0] == 0x7f, bytes[1] == 0x45, bytes[2] == 0x4c, bytes[3] == 0x46 else { throw .badMagic }
    guard bytes[4] == 2 else { throw .notSixtyFourBit }
    guard bytes[5] == 1 else { throw .notLittleEndian }
    guard bytes[6] == 1 else { throw .badVersion }
    guard u16(bytes, 16) == 2 else { throw .notExecutable }
    let machine = u16(bytes, 18)
    guard machine == 62 else { throw .wrongMachine(machine) }
    let entry = u64(bytes, 24)
    let tableOffset = u64(bytes, 32)
    let entrySize = u16(bytes, 54)
    let count = Int(u16(bytes, 56))

    // The table size cannot overflow (at most 65535 * 56), but its offset is
    // attacker-chosen and may push the end past 2^64.
    guard entrySize == UInt16(programHeaderSize) else { throw .badProgramHeaders }
    let (tableEnd, tableWraps) = tableOffset.addingReportingOverflow(UInt64(count * programHeaderSize))
    guard !tableWraps, tableEnd <= UInt64(bytes.count) else { throw .badProgramHeaders }
    let table = Int(tableOffset)

    // Counted before any segment is examined, so the work below is bounded.
    var loadCount = 0
    for i in 0..<count where u32(bytes, table + i * programHeaderSize) == loadType { loadCount += 1 }
    guard loadCount <= maxSegments else { throw .tooManySegments }

    var segments: [ElfSegment] = []
    var indices: [Int] = []
    segments.reserveCapacity(loadCount)
    indices.reserveCapacity(loadCount)
    for i in 0..<count {
      let at = table + i * programHeaderSize
      guard u32(bytes, at) == loadType else { continue }
      let flags = u32(bytes, at + 4)
      let segment = ElfSegment(
        virtualAddress: u64(bytes, at + 16), memorySize: u64(bytes, at + 40),
        fileOffset: u64(bytes, at + 8), fileSize: u64(bytes, at + 32),
        writable: flags & flagWrite != 0, executable: flags & flagExecute != 0)
      let (fileEnd, fileWraps) = segment.fileOffset.addingReportingOverflow(segment.fileSize)
      guard !fileWraps, fileEnd <= UInt64(bytes.count) else { throw .segmentPastFileEnd(i) }
      guard segment.fileSize <= segment.memorySize else { throw .fileSizeOverMemorySize(i) }
      // An empty segment occupies no page, so there is nothing to place or check.
      if segment.memorySize == 0 { continue }
      let (end, wraps) = segment.virtualAddress.addingReportingOverflow(segment.memorySize)
      guard segment.virtualAddress >= UserSpace.lowest, !wraps, end <= UserSpace.imageLimit else {
        throw .segmentOutsideUserHalf(i)
      }
      segments.append(segment)
      indices.append(i)
    }
    guard !segments.isEmpty else { throw .noLoadableSegment }

    // Rights are per page, so segments may not even share a partial page.
    for a in 0..<segments.count {
      for b in (a + 1)..<segments.count where pagesIntersect(segments[a], segments[b]) {
        throw .segmentsOverlap(indices[a], indices[b])
      }
    }

    var entryInCode = false
    for segment in segments where segment.executable {
      if entry >= segment.virtualAddress && entry < segment.end { entryInCode = true }
    }
    guard entryInCode else { throw .entryOutsideCode }
    return ElfImage(entry: entry, segments: segments)
  }

  private static func pagesIntersect(_ a: ElfSegment, _ b: ElfSegment) -> Bool {
    // Both ends are at most UserSpace.imageLimit, so rounding up cannot overflow.
    let mask = UserSpace.pageSize - 1
    let aFirst = a.virtualAddress & ~mask, aEnd = (a.end + mask) & ~mask
    let bFirst = b.virtualAddress & ~mask, bEnd = (b.end + mask) & ~mask
    return aFirst < bEnd && bFirst < aEnd
  }

  // ELF fields are little-endian whatever the host; the offsets were bounds-checked by the caller.
  private static func u16(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> UInt16 {
    UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self))
  }
  private static func u32(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
    UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self))
  }
  private static func u64(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
    UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self))
  }
}
