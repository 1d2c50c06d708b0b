// The libOS heap: size classes of 16 B to 4 KiB with free lists, larger
// blocks in first-fit order, all carved from one region the runtime gives
// it. Hardware-free, so it is tested on the host; the runtime's
// posix_memalign and free sit on top of it.

public struct Heap {
  public static let headerSize = 16
  static let classCount = 9  // 16 << 0 ... 16 << 8 = 4096
  static let largestClass = 4096

  private let base: UnsafeMutableRawPointer
  private let capacity: Int
  private var used = 0
  private var classLists = InlineArray<9, UInt>(repeating: 0)
  private var largeList: UInt = 0
  public private(set) var bytesInUse = 0

  public init(region: UnsafeMutableRawBufferPointer) {
    base = region.baseAddress!
    capacity = region.count
  }

  /// A block of at least `size` bytes aligned to `alignment` (a power of
  /// two), or nil when the region is exhausted or the request is malformed.
  public mutating func allocate(size: Int, alignment: Int) -> UnsafeMutableRawPointer? {
    guard size >= 0, alignment > 0, alignment & (alignment - 1) == 0, size <= capacity else { return nil }
    let align = max(alignment, Self.headerSize)
    let need = size + Self.headerSize + (align - Self.headerSize)
    let blockSize: Int
    let start: UnsafeMutableRawPointer
    if need <= Self.largestClass {
      let index = Self.classIndex(need)
      blockSize = Self.headerSize << index
      if classLists[index] != 0 {
        start = UnsafeMutableRawPointer(bitPattern: classLists[index])!
        classLists[index] = start.load(as: UInt.self)
      } else {
        guard let fresh = carve(blockSize) else { return nil }
        start = fresh
      }
    } else {
      let rounded = (need + 4095) & ~4095
      if let reused = takeLarge(rounded) {
        start = reused.start
        blockSize = reused.size
      } else {
        guard let fresh = carve(rounded) else { return nil }
        start = fresh
        blockSize = rounded
      }
    }
    let address = (UInt(bitPattern: start) + UInt(Self.headerSize) + UInt(align) - 1) & ~(UInt(align) - 1)
    let result = UnsafeMutableRawPointer(bitPattern: address)!
    result.storeBytes(of: UInt(blockSize), toByteOffset: -16, as: UInt.self)
    result.storeBytes(of: UInt(bitPattern: start), toByteOffset: -8, as: UInt.self)
    bytesInUse += blockSize
    return result
  }

  public mutating func free(_ pointer: UnsafeMutableRawPointer) {
    let blockSize = Int(pointer.load(fromByteOffset: -16, as: UInt.self))
    let start = UnsafeMutableRawPointer(bitPattern: pointer.load(fromByteOffset: -8, as: UInt.self))!
    bytesInUse -= blockSize
    if blockSize <= Self.largestClass {
      let index = Self.classIndex(blockSize)
      start.storeBytes(of: classLists[index], as: UInt.self)
      classLists[index] = UInt(bitPattern: start)
    } else {
      start.storeBytes(of: largeList, as: UInt.self)
      start.storeBytes(of: UInt(blockSize), toByteOffset: 8, as: UInt.self)
      largeList = UInt(bitPattern: start)
    }
  }

  private static func classIndex(_ bytes: Int) -> Int {
    var index = 0
    while headerSize << index < bytes { index += 1 }
    return index
  }

  private mutating func carve(_ bytes: Int) -> UnsafeMutableRawPointer? {
    guard capacity - used >= bytes else { return nil }
    defer { used += bytes }
    return base + used
  }

  /// First fit: the first freed large block big enough is reused whole.
  private mutating func takeLarge(_ bytes: Int) -> (start: UnsafeMutableRawPointer, size: Int)? {
    var link: UnsafeMutableRawPointer? = nil
    var node = largeList
    while node != 0 {
      let block = UnsafeMutableRawPointer(bitPattern: node)!
      let size = Int(block.load(fromByteOffset: 8, as: UInt.self))
      let next = block.load(as: UInt.self)
      if size >= bytes {
        if let link { link.storeBytes(of: next, as: UInt.self) } else { largeList = next }
        return (block, size)
      }
      link = block
      node = next
    }
    return nil
  }
}
