// Visible revocation, the abort protocol and the repossession vector
// [Engler95 §3.2.3]: the kernel asks an env to give frames back (the env
// picks which), counts a deadline in the env's own turns, and then takes
// frames by force in a fixed order, recording each loss where the env can
// read it. The parts here are hardware-free: the shared-page layout, the
// deadline bookkeeping, the order frames are taken in, and the log of the
// env's most recent allocations that order reads.

/// Where the request and the repossession vector live: in the page the env
/// shares with the kernel for exception upcalls, after the exception slot.
/// libos-posix reads it; the kernel writes it through the direct map.
public enum RevocationPage {
  /// Frames the kernel asks back now; 0 when nothing is asked.
  public static let requested = ExceptionSlot.size
  /// Turns of the env left before the kernel takes frames by force.
  public static let turnsLeft = ExceptionSlot.size + 8
  /// Entries ever written to the vector (may exceed `capacity`).
  public static let count = ExceptionSlot.size + 16
  /// Non-zero once an entry did not fit (count > capacity).
  public static let overflow = ExceptionSlot.size + 24
  /// `capacity` entries of two words: the lost frame's capability, and the
  /// virtual address it was mapped at in the env (0: mapped nowhere).
  public static let entries = ExceptionSlot.size + 32
  public static let entrySize = 16
  public static let capacity = (4096 - entries) / entrySize

  /// The event bit a request sets in the env's pending word (`event_wait`
  /// returns it), beside the word in the shared page.
  public static let eventBit: UInt64 = 1 << 61
  /// The longest deadline a caller may give, in turns.
  public static let maxTurns: UInt64 = 64
}

/// One frame the kernel took by force.
public struct Repossession: Equatable, Sendable {
  public var capability: FrameCapability
  public var address: UInt64

  public init(capability: FrameCapability, address: UInt64) {
    self.capability = capability
    self.address = address
  }
}

/// The repossession vector over a shared page: the kernel appends, the
/// libOS reads from the count it saw last.
public struct RepossessionVector {
  public let page: UnsafeMutableRawPointer

  public init(page: UnsafeMutableRawPointer) { self.page = page }

  public var count: UInt64 { page.load(fromByteOffset: RevocationPage.count, as: UInt64.self) }
  public var overflowed: Bool { page.load(fromByteOffset: RevocationPage.overflow, as: UInt64.self) != 0 }

  /// Records a loss; past the capacity only the count grows and the overflow flag is set.
  public func append(_ loss: Repossession) {
    let n = count
    if n < UInt64(RevocationPage.capacity) {
      let at = RevocationPage.entries + Int(n) * RevocationPage.entrySize
      page.storeBytes(of: loss.capability.raw, toByteOffset: at, as: UInt64.self)
      page.storeBytes(of: loss.address, toByteOffset: at + 8, as: UInt64.self)
    } else {
      page.storeBytes(of: 1, toByteOffset: RevocationPage.overflow, as: UInt64.self)
    }
    page.storeBytes(of: n &+ 1, toByteOffset: RevocationPage.count, as: UInt64.self)
  }

  /// Entry `index` (below `min(count, capacity)`). The page is the env's to
  /// scribble on, so the reader bounds the index itself.
  public subscript(index: Int) -> Repossession? {
    guard index >= 0, index < RevocationPage.capacity, UInt64(index) < count else { return nil }
    let at = RevocationPage.entries + index * RevocationPage.entrySize
    return Repossession(
      capability: FrameCapability(raw: page.load(fromByteOffset: at, as: UInt64.self)),
      address: page.load(fromByteOffset: at + 8, as: UInt64.self))
  }

  /// The request word and its deadline, as the kernel publishes them.
  public var requested: UInt64 { page.load(fromByteOffset: RevocationPage.requested, as: UInt64.self) }
  public func publish(requested: UInt64, turnsLeft: UInt64) {
    page.storeBytes(of: requested, toByteOffset: RevocationPage.requested, as: UInt64.self)
    page.storeBytes(of: turnsLeft, toByteOffset: RevocationPage.turnsLeft, as: UInt64.self)
  }
}

/// The kernel's record of one outstanding request: the deadline counted in
/// the env's turns (each turn is the env's `slices` slices, or less if it
/// yields or waits), so an env that is not run is not punished for it.
public struct ReclaimRequest: Equatable, Sendable {
  public private(set) var turnsLeft: UInt64 = 0
  public private(set) var isActive = false

  public init() {}

  /// A new request, or a shorter deadline for one already outstanding.
  public mutating func start(turns: UInt64) {
    turnsLeft = isActive ? min(turnsLeft, turns) : turns
    isActive = true
  }

  /// The env has come under its quota: nothing is outstanding.
  public mutating func met() {
    isActive = false
    turnsLeft = 0
  }

  /// A turn of the env starts: true when the deadline has passed and the
  /// kernel must take the rest by force now.
  public mutating func turnStarted() -> Bool {
    guard isActive else { return false }
    if turnsLeft > 0 { turnsLeft -= 1 }
    return turnsLeft == 0
  }
}

/// The env's most recent frame allocations, newest last: the order forced
/// repossession takes frames in. A small ring; older frames are found by
/// the frame table's scan (highest frame number first) instead.
public struct AllocationLog: Sendable {
  public static let capacity = 32
  private var frames = InlineArray<32, UInt64>(repeating: UInt64.max)
  private var next = 0

  public init() {}

  public mutating func note(_ frame: Frame) {
    frames[next] = frame.number
    next = (next + 1) % Self.capacity
  }

  /// Calls `body` newest first; stops when it returns false.
  public func newestFirst(_ body: (Frame) -> Bool) {
    for step in 1...Self.capacity {
      let number = frames[(next - step + Self.capacity) % Self.capacity]
      if number != UInt64.max && !body(Frame(number: number)) { return }
    }
  }
}

/// The order frames are taken in by force. Never a page table nor a pinned
/// frame (a registered shared page, a receive ring, device I/O); first
/// frames granted to no one, then frames granted but mapped by no grantee,
/// then frames other envs map; within each, the most recently allocated.
public enum RepossessionOrder {
  public enum Tier: Int, CaseIterable, Sendable {
    case unshared = 0
    case grantedUnmapped = 1
    case mappedByOthers = 2
  }

  /// The tier of a frame `env` owns, or nil if it may never be taken.
  public static func tier(_ frame: Frame, of env: EnvID, table: FrameTable, bindings: FrameBindings, grants: GrantTable)
    -> Tier?
  {
    guard table.owner(of: frame) == .env(env), !bindings.isPageTable(frame), !bindings.isPinned(frame) else {
      return nil
    }
    guard grants.hasGrants(of: frame) else { return .unshared }
    return grants.isMappedByGrantee(frame) ? .mappedByOthers : .grantedUnmapped
  }

  /// The next frame to take from `env`, or nil when nothing may be taken.
  public static func next(
    of env: EnvID, log: AllocationLog, table: FrameTable, bindings: FrameBindings, grants: GrantTable
  ) -> Frame? {
    for wanted in Tier.allCases {
      var found: Frame? = nil
      let matches = { (frame: Frame) -> Bool in
        tier(frame, of: env, table: table, bindings: bindings, grants: grants) == wanted
      }
      log.newestFirst { frame in
        if matches(frame) { found = frame }
        return found == nil
      }
      if let found { return found }
      table.heldNewestFirst(by: env) { frame in
        if matches(frame) { found = frame }
        return found == nil
      }
      if let found { return found }
    }
    return nil
  }
}

extension GrantTable {
  /// Whether some grantee has the frame mapped now.
  public func isMappedByGrantee(_ frame: Frame) -> Bool {
    var mapped = false
    forEach(of: frame) { _, grant in if grant.mappedAt != 0 { mapped = true } }
    return mapped
  }
}
