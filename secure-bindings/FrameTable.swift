// The frame-ownership table: the secure binding between each physical 4 KiB
// frame and the env (or the kernel) that holds it, with O(1) allocate and free.
//
// Booting costs the same whatever the RAM size: the memory map is kept as a
// short list of runs, and owner slots are cleared and written only up to the
// highest frame reserved or handed out. A frame never handed out is free by
// being inside a run; a frontier walks the runs upward to hand such frames
// out, and the free stack holds only frames the frontier has passed.

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
/// of free frame numbers. Neither needs clearing: the table clears owner slots
/// itself, only as far up as it writes them, so boot does not pay for all the
/// RAM the storage could describe.
public struct FrameTable {
  /// Held by no one: free inside an available run, unusable outside. Zero, so
  /// that a cleared slot already says it.
  private static let unheldCode: UInt16 = 0
  private static let kernelCode: UInt16 = 0xFFFF
  /// Slots are cleared this many at a time ahead of the frontier, so that
  /// clearing is not paid per allocation.
  private static let clearStep = 512

  /// A run [start, end) of frames the boot loader offered.
  private struct Run {
    var start: Int
    var end: Int
  }

  private let owners: UnsafeMutableBufferPointer<UInt16>
  private let freeStack: UnsafeMutableBufferPointer<UInt32>
  /// Sorted, disjoint and never adjacent (touching runs are merged), so a
  /// memory map whose regions overlap is counted once. Kept out of line (taken
  /// once, at init): the kernel reads its frame table on every capability
  /// check, and a read of a global struct copies it whole.
  private let runs: UnsafeMutablePointer<Run>
  private static let maxRuns = 64
  private var runCount = 0
  private var sealed = false
  /// owners[0..<cleared] hold codes; slots above hold whatever the storage
  /// held and are read as unheld.
  private var cleared = 0
  /// The frontier: every free frame below it is on the free stack; from it
  /// up, free frames are found by walking the runs. Every frame `allocate`
  /// has handed out lies below it, so it also ends `releaseAll`'s scan.
  private var frontier = 0
  private var frontierRun = 0
  /// The lowest frame ever handed out: where `releaseAll`'s scan starts.
  private var lowestHandedOut = Int.max
  private var stackDepth = 0

  /// Frames that are free right now: on the free stack or still ahead of the frontier.
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
    runs = .allocate(capacity: Self.maxRuns)
    runs.initialize(repeating: Run(start: 0, end: 0), count: Self.maxRuns)
  }

  public var capacity: Int { owners.count }

  /// Phase 1 (before `seal`): makes frames from the memory map usable and free.
  /// Frames past capacity are ignored, and a frame already usable is left as it
  /// is, so overlapping regions in the map are not counted twice. A region that
  /// touches no earlier one once 64 separate runs are recorded is ignored whole
  /// (real memory maps have a handful). Ignored after `seal`.
  public mutating func addAvailable(first: UInt64, count: UInt64) {
    guard !sealed else { return }
    let (start, end) = clamp(first: first, count: count)
    guard start < end else { return }
    // runs[low..<high] overlap or touch [start, end).
    var low = 0
    while low < runCount && runs[low].end < start { low += 1 }
    var high = low
    while high < runCount && runs[high].start <= end { high += 1 }
    var added = end - start
    if low == high {
      guard runCount < Self.maxRuns else { return }
      var i = runCount
      while i > low {
        runs[i] = runs[i - 1]
        i -= 1
      }
      runs[low] = Run(start: start, end: end)
      runCount += 1
    } else {
      let merged = Run(start: min(start, runs[low].start), end: max(end, runs[high - 1].end))
      added = merged.end - merged.start
      for i in low..<high { added -= runs[i].end - runs[i].start }
      runs[low] = merged
      let dropped = high - low - 1
      for i in high..<runCount { runs[i - dropped] = runs[i] }
      runCount -= dropped
    }
    // Frames outside every run are never written, so the new ones are unheld: free.
    usableCount += added
    freeCount += added
  }

  /// Phase 1: marks frames as held by the kernel (its image, the boot
  /// information, the modules). Unusable or out-of-range frames are ignored:
  /// they were never going to be handed out. Ignored after `seal`.
  public mutating func reserve(first: UInt64, count: UInt64) {
    guard !sealed else { return }
    let (start, end) = clamp(first: first, count: count)
    for r in 0..<runCount {
      let low = max(start, runs[r].start)
      let high = min(end, runs[r].end)
      guard low < high else { continue }
      clear(upTo: high)
      var marked = 0
      for i in low..<high where owners[i] == Self.unheldCode {
        owners[i] = Self.kernelCode
        marked += 1
      }
      freeCount -= marked
    }
  }

  /// Ends phase 1. Nothing to build: the frontier starts at the lowest run, so
  /// the lowest frame numbers are handed out first (low memory is what early
  /// boot and DMA prefer).
  public mutating func seal() {
    sealed = true
  }

  /// Hands out a free frame to `owner`, which must be `.kernel` or a valid env.
  /// Returns nil when no frame is free, before `seal`, or for any other owner.
  /// Frames freed since boot go out first, being on the stack; reserved frames
  /// the frontier steps over cost once in all, so allocation is amortised O(1).
  public mutating func allocate(for owner: FrameOwner) -> Frame? {
    guard sealed, freeCount > 0, let code = Self.ownerCode(owner) else { return nil }
    freeCount -= 1
    let number: Int
    if stackDepth > 0 {
      stackDepth -= 1
      number = Int(freeStack[stackDepth])
    } else {
      number = advanceFrontier()
    }
    owners[number] = code
    lowestHandedOut = min(lowestHandedOut, number)
    return Frame(number: UInt64(number))
  }

  /// Returns a frame to the free pool; only its owner may do so.
  public mutating func free(_ frame: Frame, by owner: FrameOwner) throws(FrameError) {
    guard frame.number < UInt64(owners.count) else { throw .outOfRange }
    let index = Int(frame.number)
    let held = code(at: index)
    guard held != Self.unheldCode else { throw .notAllocated }
    guard let code = Self.ownerCode(owner), code == held else { throw .notOwner }
    release(index)
  }

  /// Frees every frame the env owns and returns how many; used when an env
  /// exits or is killed, so a linear scan is acceptable, but only over the
  /// frames ever handed out, not the whole RAM.
  public mutating func releaseAll(of env: EnvID) -> Int {
    // An invalid id would match a marker (0 = unheld, 0xFFFF = kernel), never an env.
    guard env.isValid, lowestHandedOut < frontier else { return 0 }
    var released = 0
    for index in lowestHandedOut..<frontier where owners[index] == env.raw {
      release(index)
      released += 1
    }
    return released
  }

  /// Calls `body` with each frame `env` holds, highest frame number first
  /// (the frontier hands numbers out upward, so roughly newest first); stops
  /// when it returns false. O(frames ever handed out), for forced repossession.
  public func heldNewestFirst(by env: EnvID, _ body: (Frame) -> Bool) {
    guard env.isValid, lowestHandedOut < frontier else { return }
    var index = frontier - 1
    while index >= lowestHandedOut {
      if code(at: index) == env.raw && !body(Frame(number: UInt64(index))) { return }
      index -= 1
    }
  }

  /// Whether `env` holds `frame`: `owner(of:) == .env(env)` without
  /// decoding, for the capability check on `map`'s path.
  @inline(__always)
  public func isHeld(_ frame: Frame, by env: EnvID) -> Bool {
    env.isValid && frame.number < UInt64(owners.count) && code(at: Int(frame.number)) == env.raw
  }

  /// `isHeld` read straight from the owner storage, for the kernel's lean
  /// `map` path, which has no table value at hand (reading the kernel's
  /// global table costs a lazy-initialisation check and a copy). Valid only
  /// for storage that started zero-filled, as .bss does: a slot the table
  /// has not cleared yet then still reads as unheld (0), which no valid env
  /// id equals, just as `code(at:)` says.
  @inline(__always)
  public static func isHeld(_ frame: Frame, by env: EnvID, inZeroFilled owners: UnsafeMutableBufferPointer<UInt16>)
    -> Bool
  {
    env.isValid && frame.number < UInt64(owners.count) && owners[Int(frame.number)] == env.raw
  }

  /// `.unusable` for a frame past the table.
  public func owner(of frame: Frame) -> FrameOwner {
    guard frame.number < UInt64(owners.count) else { return .unusable }
    let index = Int(frame.number)
    let held = code(at: index)
    // Only an unheld frame needs the runs: that keeps capability checks O(1).
    guard held == Self.unheldCode else { return Self.decode(held, available: true) }
    return isAvailable(index) ? .free : .unusable
  }

  /// How many frames `owner` holds; O(capacity), for reports and tests.
  public func count(of owner: FrameOwner) -> Int {
    var n = 0
    var r = 0
    for index in 0..<owners.count {
      while r < runCount && runs[r].end <= index { r += 1 }
      let available = r < runCount && runs[r].start <= index
      if Self.decode(code(at: index), available: available) == owner { n += 1 }
    }
    return n
  }

  /// The next unheld frame at or past the frontier. The caller has checked that
  /// one exists: `freeCount` counted it and the stack was empty.
  private mutating func advanceFrontier() -> Int {
    while true {
      let end = runs[frontierRun].end
      frontier = max(frontier, runs[frontierRun].start)
      while frontier < end {
        if frontier >= cleared { clear(upTo: min(end, frontier + Self.clearStep)) }
        // Reserved frames (the kernel image, the modules) are stepped over
        // here once in the table's life: allocation stays amortised O(1).
        let stop = min(end, cleared)
        while frontier < stop {
          let index = frontier
          frontier += 1
          if owners[index] == Self.unheldCode { return index }
        }
      }
      frontierRun += 1
    }
  }

  private mutating func release(_ index: Int) {
    owners[index] = Self.unheldCode
    // A frame still ahead of the frontier (one the kernel reserved) is found
    // there again; pushing it as well would hand it out twice.
    if index < frontier {
      freeStack[stackDepth] = UInt32(index)
      stackDepth += 1
    }
    freeCount += 1
  }

  private mutating func clear(upTo end: Int) {
    guard end > cleared else { return }
    UnsafeMutableBufferPointer(rebasing: owners[cleared..<end]).update(repeating: Self.unheldCode)
    cleared = end
  }

  private func code(at index: Int) -> UInt16 {
    index < cleared ? owners[index] : Self.unheldCode
  }

  private func isAvailable(_ index: Int) -> Bool {
    for r in 0..<runCount where index < runs[r].end { return index >= runs[r].start }
    return false
  }

  private static func ownerCode(_ owner: FrameOwner) -> UInt16? {
    switch owner {
    case .kernel: return kernelCode
    case .env(let id): return id.isValid ? id.raw : nil
    case .free, .unusable: return nil
    }
  }

  private static func decode(_ code: UInt16, available: Bool) -> FrameOwner {
    switch code {
    case unheldCode: return available ? .free : .unusable
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
