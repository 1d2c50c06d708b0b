// The libOS heap: size classes of 16 B to 4 KiB with free lists, larger
// blocks in first-fit order. Blocks are carved from a small first arena the
// runtime hands over (usable before anything else is set up), then from a
// large reserved range of address space, whose pages the heap asks its
// growth hook to commit a few at a time, as carving reaches them.
//
// Committed pages are never given back: a freed block, small or large,
// keeps its pages (in an image, its frames) for the next allocation, and a
// large free block is split when a smaller large request reuses it. Blocks
// are not coalesced. Hardware-free, so it is tested on the host; the
// runtime's posix_memalign and free (runtime/Memory.swift) sit on top of it.

/// What makes pages of the heap's reserved range usable memory: in an image
/// (runtime/HeapFrames.swift), frames from the env's quota mapped there.
public protocol HeapGrowth {
  /// Commits up to `pages` pages from `address`, which is page-aligned, the
  /// first page past every page committed before, with the whole run inside
  /// the reservation. Returns how many it committed from the start of the
  /// run: fewer than asked (perhaps 0) when memory ran out. It runs inside
  /// an allocation, so it must not allocate from the heap itself.
  mutating func commit(_ address: UInt, pages: Int) -> Int
}

/// No reserved range: the heap is its first arena alone.
public struct NoHeapGrowth: HeapGrowth {
  public init() {}
  public func commit(_ address: UInt, pages: Int) -> Int { 0 }
}

public struct Heap<Growth: HeapGrowth> {
  public static var headerSize: Int { 16 }
  public static var pageSize: Int { 4096 }
  /// Pages asked for at least, each time the heap grows.
  public static var growthPages: Int { 16 }
  static var largestClass: Int { 4096 }  // 16 << 8: nine classes

  private let arenaBase: UInt
  private let arenaCapacity: Int
  private var arenaUsed = 0
  private let reserveBase: UInt
  private let reserveCapacity: Int
  private var reserveUsed = 0
  /// Bytes of the reserved range committed, from its start.
  public private(set) var committedBytes = 0
  public private(set) var growth: Growth
  private var classLists = InlineArray<9, UInt>(repeating: 0)
  private var largeList: UInt = 0
  public private(set) var bytesInUse = 0

  /// `arena` is usable memory from the start; `reserve` is address space
  /// whose pages become usable only through `growth` (trimmed to whole pages).
  public init(arena: UnsafeMutableRawBufferPointer, reserve: UnsafeMutableRawBufferPointer, growth: Growth) {
    arenaBase = arena.baseAddress.map { UInt(bitPattern: $0) } ?? 0
    arenaCapacity = arenaBase == 0 ? 0 : arena.count
    let page = UInt(Self.pageSize)
    let start = reserve.baseAddress.map { UInt(bitPattern: $0) } ?? 0
    let first = (start &+ page &- 1) & ~(page - 1)
    let end = (start &+ UInt(reserve.count)) & ~(page - 1)
    let usable = start != 0 && first >= start && end > first
    reserveBase = usable ? first : 0
    reserveCapacity = usable ? Int(end - first) : 0
    self.growth = growth
  }

  /// What the heap can hand out without growing again: the first arena and
  /// the pages committed so far.
  public var size: Int { arenaCapacity + committedBytes }
  public var committedPages: Int { committedBytes / Self.pageSize }
  /// The most the heap could ever hold.
  public var capacity: Int { arenaCapacity + reserveCapacity }

  /// A block of at least `size` bytes aligned to `alignment` (a power of
  /// two), or nil when memory is exhausted (the growth hook committed too
  /// little) or the request is malformed; the heap is unchanged then, except
  /// that pages committed on the way stay committed for later blocks.
  public mutating func allocate(size: Int, alignment: Int) -> UnsafeMutableRawPointer? {
    // Bounded by the capacity, `need` below cannot overflow.
    guard size >= 0, alignment > 0, alignment & (alignment - 1) == 0, size <= capacity, alignment <= capacity
    else { return nil }
    let align = max(alignment, Self.headerSize)
    let need = size + Self.headerSize + (align - Self.headerSize)
    let blockSize: Int
    let start: UInt
    if need <= Self.largestClass {
      let index = Self.classIndex(need)
      blockSize = Self.headerSize << index
      if classLists[index] != 0 {
        start = classLists[index]
        classLists[index] = Self.word(start, 0)
      } else {
        guard let fresh = carve(blockSize) else { return nil }
        start = fresh
      }
    } else {
      let rounded = (need + Self.pageSize - 1) & ~(Self.pageSize - 1)
      if let reused = takeLarge(rounded) {
        start = reused.start
        blockSize = reused.size
      } else {
        guard let fresh = carve(rounded) else { return nil }
        start = fresh
        blockSize = rounded
      }
    }
    let address = (start + UInt(Self.headerSize) + UInt(align) - 1) & ~(UInt(align) - 1)
    let result = UnsafeMutableRawPointer(bitPattern: address)!  // start is non-zero, so address is
    result.storeBytes(of: UInt(blockSize), toByteOffset: -16, as: UInt.self)
    result.storeBytes(of: start, toByteOffset: -8, as: UInt.self)
    bytesInUse += blockSize
    return result
  }

  /// Gives back a block `allocate` returned; its pages stay committed.
  public mutating func free(_ pointer: UnsafeMutableRawPointer) {
    let blockSize = Int(pointer.load(fromByteOffset: -16, as: UInt.self))
    let start = pointer.load(fromByteOffset: -8, as: UInt.self)
    bytesInUse -= blockSize
    if blockSize <= Self.largestClass {
      let index = Self.classIndex(blockSize)
      Self.setWord(start, 0, classLists[index])
      classLists[index] = start
    } else {
      pushLarge(start, blockSize)
    }
  }

  private static func classIndex(_ bytes: Int) -> Int {
    var index = 0
    while headerSize << index < bytes { index += 1 }
    return index
  }

  /// Fresh bytes: from the first arena while they fit there, else from the
  /// reserved range, committing pages up to the block's end first.
  private mutating func carve(_ bytes: Int) -> UInt? {
    if arenaCapacity - arenaUsed >= bytes {
      defer { arenaUsed += bytes }
      return arenaBase + UInt(arenaUsed)
    }
    guard reserveCapacity - reserveUsed >= bytes else { return nil }
    let end = reserveUsed + bytes
    if end > committedBytes && !grow(to: end) { return nil }
    defer { reserveUsed = end }
    return reserveBase + UInt(reserveUsed)
  }

  /// Asks for the pages up to `end`, at least `growthPages` when the range
  /// has them, so that small blocks do not each cost a growth.
  private mutating func grow(to end: Int) -> Bool {
    let page = Self.pageSize
    let needed = (end - committedBytes + page - 1) / page
    let room = (reserveCapacity - committedBytes) / page
    let asked = min(max(needed, Self.growthPages), room)
    let got = growth.commit(reserveBase + UInt(committedBytes), pages: asked)
    // A hook that claims more than it was asked for is not believed.
    committedBytes += min(max(got, 0), asked) * page
    return committedBytes >= end
  }

  /// First fit: the first freed large block big enough. What it has beyond
  /// `bytes` (whole pages, as every large size is) stays free when it could
  /// serve a large request of its own, else it goes with the block.
  private mutating func takeLarge(_ bytes: Int) -> (start: UInt, size: Int)? {
    var link: UInt = 0
    var node = largeList
    while node != 0 {
      let size = Int(Self.word(node, 1))
      let next = Self.word(node, 0)
      if size >= bytes {
        if link != 0 { Self.setWord(link, 0, next) } else { largeList = next }
        let rest = size - bytes
        if rest >= Self.largestClass + Self.pageSize {  // the smallest large block
          pushLarge(node + UInt(bytes), rest)
          return (node, bytes)
        }
        return (node, size)
      }
      link = node
      node = next
    }
    return nil
  }

  /// A free large block holds its list link and its size in its first two words.
  private mutating func pushLarge(_ start: UInt, _ size: Int) {
    Self.setWord(start, 0, largeList)
    Self.setWord(start, 1, UInt(size))
    largeList = start
  }

  private static func word(_ address: UInt, _ index: Int) -> UInt {
    UnsafeRawPointer(bitPattern: address)!.load(fromByteOffset: 8 * index, as: UInt.self)
  }

  private static func setWord(_ address: UInt, _ index: Int, _ value: UInt) {
    UnsafeMutableRawPointer(bitPattern: address)!.storeBytes(of: value, toByteOffset: 8 * index, as: UInt.self)
  }
}

extension Heap where Growth == NoHeapGrowth {
  /// A heap over one region that never grows.
  public init(region: UnsafeMutableRawBufferPointer) {
    self.init(arena: region, reserve: UnsafeMutableRawBufferPointer(start: nil, count: 0), growth: NoHeapGrowth())
  }
}
