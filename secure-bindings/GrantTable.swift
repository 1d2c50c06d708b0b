// The mapping database for shared frames: which env granted which frame to
// which other env, with what rights, and where the grantee mapped it. It is
// bounded (the kernel sizes it at boot), so a grant can fail; and because it
// records every mapping a grant allows, the owner can revoke the grant and
// the kernel can take the page out of the grantee's address space.

public struct Grant: Equatable, Sendable {
  public var frame: Frame
  public var owner: EnvID
  public var grantee: EnvID
  public var rights: PageRights
  /// Where the grantee mapped the frame; 0 while it has not (one mapping per grant).
  public var mappedAt: UInt64

  public init(frame: Frame, owner: EnvID, grantee: EnvID, rights: PageRights, mappedAt: UInt64 = 0) {
    self.frame = frame
    self.owner = owner
    self.grantee = grantee
    self.rights = rights
    self.mappedAt = mappedAt
  }
}

public struct GrantTable {
  private let slots: UnsafeMutableBufferPointer<Grant>
  private let used: UnsafeMutableBufferPointer<Bool>
  public private(set) var count = 0

  /// Storage is the caller's; every slot starts unused.
  public init(slots: UnsafeMutableBufferPointer<Grant>, used: UnsafeMutableBufferPointer<Bool>) {
    precondition(used.count >= slots.count)
    self.slots = slots
    self.used = used
    for i in 0..<slots.count { used[i] = false }
  }

  public var capacity: Int { slots.count }

  /// Records a grant; `alreadyMapped` if the grantee holds one for this frame
  /// already, `tableFull` when no slot is left.
  public mutating func add(_ grant: Grant) throws(ExoError) -> Int {
    if find(frame: grant.frame, grantee: grant.grantee) != nil { throw .alreadyMapped }
    for i in 0..<slots.count where !used[i] {
      slots[i] = grant
      used[i] = true
      count += 1
      return i
    }
    throw .tableFull
  }

  public func find(frame: Frame, grantee: EnvID) -> Int? {
    guard count > 0 else { return nil }
    for i in 0..<slots.count where used[i] && slots[i].frame == frame && slots[i].grantee == grantee { return i }
    return nil
  }

  public func hasGrants(of frame: Frame) -> Bool {
    guard count > 0 else { return false }
    for i in 0..<slots.count where used[i] && slots[i].frame == frame { return true }
    return false
  }

  public subscript(index: Int) -> Grant {
    get { slots[index] }
    set { slots[index] = newValue }
  }

  public mutating func remove(_ index: Int) {
    guard used[index] else { return }
    used[index] = false
    count -= 1
  }

  /// The slots of every grant of `frame`, for revoking them all.
  public func forEach(of frame: Frame, _ body: (Int, Grant) -> Void) {
    guard count > 0 else { return }
    for i in 0..<slots.count where used[i] && slots[i].frame == frame { body(i, slots[i]) }
  }

  /// The slots of every grant `env` made or received, for cleanup at exit.
  public func forEach(involving env: EnvID, _ body: (Int, Grant) -> Void) {
    guard count > 0 else { return }
    for i in 0..<slots.count where used[i] && (slots[i].owner == env || slots[i].grantee == env) {
      body(i, slots[i])
    }
  }
}

extension PageRights {
  /// Whether every right in `self` is also in `other`.
  public func isSubset(of other: PageRights) -> Bool { raw & ~other.raw == 0 }
}
