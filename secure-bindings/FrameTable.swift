// The frame-ownership table: the secure binding between each physical 4 KiB
// frame and the env (or the kernel) that holds it, with O(1) allocate and free.

/// A physical 4 KiB page, named by its frame number.
public struct Frame: Equatable, Hashable, Sendable {
  public let number: UInt64
  public init(number: UInt64) { self.number = number }
  public var physicalAddress: UInt64 { number << 12 }
}

/// An env's name. Valid raw values are 1...0xFFF0; the rest are kept free so
/// that an owner fits one UInt16 slot beside the table's own markers.
public struct EnvID: Equatable, Hashable, Sendable {
  public let raw: UInt16
  public init(_ raw: UInt16) { self.raw = raw }

  public static let validRange: ClosedRange<UInt16> = 1...0xFFF0
  public var isValid: Bool { Self.validRange.contains(raw) }
}

public enum FrameOwner: Equatable, Sendable {
  /// Not RAM the boot loader offered, or past the table: never handed out.
  case unusable
  case free
  case kernel
  case env(EnvID)
}

public enum FrameError: Error, Equatable, Sendable {
  case outOfRange
  case notAllocated
  case notOwner
}

/// Storage belongs to the caller so that the kernel can size it at boot from
/// static memory and never allocate: one UInt16 owner per frame, and a stack
/// of free frame numbers.
public struct FrameTable {
  private static let unusableCode: UInt16 = 0
  private static let freeCode: UInt16 = 0xFFFF
  private static let kernelCode: UInt16 = 0xFFFE

  private let owners: UnsafeMutableBufferPointer<UInt16>
  private let freeStack: UnsafeMutableBufferPointer<UInt32>
  private var sealed = false
  /// One past the highest frame ever made available: scans stop here, so a
  /// 256 MiB machine does not pay for the table's 1 GiB capacity.
  private var scanLimit = 0

  /// Frames that are free right now. Before `seal` these are only marked;
  /// afterwards each one is also on the free stack (exactly `freeCount` deep).
  public private(set) var freeCount = 0
  /// Frames that were ever made available (free + owned).
  public private(set) var usableCount = 0

  /// owners.count is the frame capacity and freeStack.count must be at least
  /// that. Every frame starts `unusable`, whatever the storage held.
  public init(owners: UnsafeMutableBufferPointer<UInt16>, freeStack: UnsafeMutableBufferPointer<UInt32>) {
    precondition(freeStack.count >= owners.count, "free stack smaller than the frame table")
    // Stack entries are UInt32 frame numbers (16 TiB of RAM): enough for any machine this boots on.
    precondition(UInt64(owners.count) <= UInt64(UInt32.max) + 1, "frame table larger than UInt32 frame numbers")
    self.owners = owners
    self.freeStack = freeStack
    owners.update(repeating: Self.unusableCode)
  }

  public var capacity: Int { owners.count }

  /// Phase 1 (before `seal`): marks frames from the memory map usable and free.
  /// Frames past capacity are ignored, and a frame already usable is left as it
  /// is, so overlapping regions in the map are not counted twice. Ignored after `seal`.
  public mutating func addAvailable(first: UInt64, count: UInt64) {
    guard !sealed else { return }
    let (start, end) = clamp(first: first, count: count)
    scanLimit = max(scanLimit, end)
    var i = start
    while i < end {
      if owners[i] == Self.unusableCode {
        owners[i] = Self.freeCode
        freeCount += 1
        usableCount += 1
      }
      i += 1
    }
  }

  /// Phase 1: marks frames as held by the kernel (its image, the boot
  /// information, the modules). Unusable or out-of-range frames are ignored:
  /// they were never going to be handed out. Ignored after `seal`.
  public mutating func reserve(first: UInt64, count: UInt64) {
    guard !sealed else { return }
    let (start, end) = clamp(first: first, count: count)
    var i = start
    while i < end {
      if owners[i] == Self.freeCode {
        owners[i] = Self.kernelCode
        freeCount -= 1
      }
      i += 1
    }
  }

  /// Ends phase 1. Frames are pushed from the highest down, so the lowest frame
  /// numbers are handed out first (low memory is what early boot and DMA prefer).
  public mutating func seal() {
    guard !sealed else { return }
    var depth = 0
    var i = scanLimit
    while i > 0 {
      i -= 1
      if owners[i] == Self.freeCode {
        freeStack[depth] = UInt32(i)
        depth += 1
      }
    }
    sealed = true
  }

  /// Hands out a free frame to `owner`, which must be `.kernel` or a valid env.
  /// Returns nil when no frame is free, before `seal`, or for any other owner.
  public mutating func allocate(for owner: FrameOwner) -> Frame? {
    guard sealed, freeCount > 0, let code = Self.ownerCode(owner) else { return nil }
    freeCount -= 1
    let number = Int(freeStack[freeCount])
    owners[number] = code
    return Frame(number: UInt64(number))
  }

  /// Returns a frame to the free stack; only its owner may do so.
  public mutating func free(_ frame: Frame, by owner: FrameOwner) throws(FrameError) {
    guard frame.number < UInt64(owners.count) else { throw .outOfRange }
    let index = Int(frame.number)
    let held = owners[index]
    guard held != Self.unusableCode && held != Self.freeCode else { throw .notAllocated }
    guard let code = Self.ownerCode(owner), code == held else { throw .notOwner }
    release(index)
  }

  /// Frees every frame the env owns and returns how many; used when an env
  /// exits or is killed, so a linear scan is acceptable.
  public mutating func releaseAll(of env: EnvID) -> Int {
    // An invalid id would match a marker (0 = unusable, 0xFFFF = free, ...), never an env.
    guard env.isValid else { return 0 }
    var released = 0
    for index in 0..<scanLimit where owners[index] == env.raw {
      release(index)
      released += 1
    }
    return released
  }

  /// `.unusable` for a frame past the table.
  public func owner(of frame: Frame) -> FrameOwner {
    guard frame.number < UInt64(owners.count) else { return .unusable }
    return Self.decode(owners[Int(frame.number)])
  }

  /// How many frames `owner` holds; O(capacity), for reports and tests.
  public func count(of owner: FrameOwner) -> Int {
    var n = 0
    for index in 0..<owners.count where Self.decode(owners[index]) == owner { n += 1 }
    return n
  }

  private mutating func release(_ index: Int) {
    owners[index] = Self.freeCode
    // Before seal the stack does not exist yet; seal will find the frame by its mark.
    if sealed { freeStack[freeCount] = UInt32(index) }
    freeCount += 1
  }

  private static func ownerCode(_ owner: FrameOwner) -> UInt16? {
    switch owner {
    case .kernel: return kernelCode
    case .env(let id): return id.isValid ? id.raw : nil
    case .free, .unusable: return nil
    }
  }

  private static func decode(_ code: UInt16) -> FrameOwner {
    switch code {
    case unusableCode: return .unusable
    case freeCode: return .free
    case kernelCode: return .kernel
    default: return .env(EnvID(code))
    }
  }

  /// [first, first + count) cut to the table, without overflow for hostile or huge regions.
  private func clamp(first: UInt64, count: UInt64) -> (Int, Int) {
    let capacity = UInt64(owners.count)
    guard first < capacity else { return (0, 0) }
    let end = count > capacity - first ? capacity : first + count
    return (Int(first), Int(end))
  }
}
