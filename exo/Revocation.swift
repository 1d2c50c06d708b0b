// Visible revocation in the kernel: `quota_lower` asks an env for frames,
// each of its turns counts down the deadline, and when it passes the kernel
// takes what is still owed by force and records the loss in the env's
// repossession vector [Engler95 abort protocol]. Which frames the env gives
// back is its libOS's choice; the kernel's forced order is fixed and
// documented (secure-bindings/Revocation.swift), never a policy.
import SecureBindings

enum Revocation {
  typealias EnvRef = UnsafeMutablePointer<Env>

  /// Frames taken by force since boot (reported at the end).
  nonisolated(unsafe) private(set) static var repossessed: UInt64 = 0

  /// `quota_lower(env, frames, turns)`.
  static func lower(_ env: EnvRef, _ target: UInt64, _ frames: UInt64, _ turns: UInt64) throws(CallFailure) -> UInt64 {
    guard target >= 1, target <= UInt64(envTable.count) else { throw CallFailure(.noSuchEnv) }
    let other = envTable[EnvID(UInt16(target))]
    guard other.pointee.state == .runnable || other.pointee.state == .blocked else { throw CallFailure(.noSuchEnv) }
    // Boot order is the authority: an env started before another may lower
    // its quota (a supervisor listed first), never the other way round.
    guard other.pointee.id.raw >= env.pointee.id.raw else { throw CallFailure(.badCapability) }
    guard frames <= other.pointee.frameQuota, turns >= 1, turns <= RevocationPage.maxTurns else {
      throw CallFailure(.badArgument)
    }
    other.pointee.frameQuota = frames
    other.pointee.quotaCeiling = frames
    return ask(other, turns: turns)
  }

  /// The kernel moved the env's quota (Quotas.rebalance): a new excess is
  /// asked for with `turns` to give it back; a request already running
  /// keeps its deadline and shows the new count; one now met ends.
  static func quotaMoved(_ env: EnvRef, turns: UInt64) {
    if owed(env) == 0 {
      if env.pointee.reclaim.isActive { env.pointee.reclaim.met() }
      publish(env)
    } else if env.pointee.reclaim.isActive {
      publish(env)
    } else {
      _ = ask(env, turns: turns)
    }
  }

  /// Asks the env for what it holds above its quota: the count in its
  /// shared page, the event bit, and a deadline of `turns` of its turns.
  private static func ask(_ env: EnvRef, turns: UInt64) -> UInt64 {
    let owed = owed(env)
    guard owed > 0 else { return 0 }
    env.pointee.reclaim.start(turns: turns)
    publish(env)
    Events.deliver(env, RevocationPage.eventBit)
    return owed
  }

  /// A frame left the env (`frame_free`): a request it has now met ends.
  static func noteFreed(_ env: EnvRef) {
    guard env.pointee.reclaim.isActive else { return }
    if owed(env) == 0 { env.pointee.reclaim.met() }
    publish(env)
  }

  /// A turn of `env` begins: past the deadline, the rest is taken now.
  static func turnStarted(_ env: EnvRef) {
    guard env.pointee.reclaim.isActive else { return }
    if env.pointee.reclaim.turnStarted() {
      takeByForce(env)
      env.pointee.reclaim.met()
    }
    publish(env)
  }

  private static func owed(_ env: EnvRef) -> UInt64 {
    env.pointee.framesHeld > env.pointee.frameQuota ? env.pointee.framesHeld - env.pointee.frameQuota : 0
  }

  /// The request word and deadline in the env's shared page, if it has one.
  private static func publish(_ env: EnvRef) {
    guard let vector = vector(of: env) else { return }
    let active = env.pointee.reclaim.isActive
    vector.publish(requested: active ? owed(env) : 0, turnsLeft: env.pointee.reclaim.turnsLeft)
  }

  private static func vector(of env: EnvRef) -> RepossessionVector? {
    guard env.pointee.exceptionEntry != 0 else { return nil }
    return RepossessionVector(page: Machine.physical(env.pointee.sharedFrame.physicalAddress))
  }

  /// Takes what the env still owes, in the documented order. Frames that
  /// may never be taken (page tables, pinned) can leave it over its quota:
  /// then it can only shrink, since `frame_alloc` checks the quota.
  private static func takeByForce(_ env: EnvRef) {
    let id = env.pointee.id
    var taken: UInt64 = 0
    while owed(env) > 0 {
      guard
        let frame = RepossessionOrder.next(
          of: id, log: env.pointee.recent, table: frameTable, bindings: frameBindings, grants: grantTable)
      else { break }
      let capability = frameBindings.current(frame)
      grantTable.forEach(of: frame) { index, _ in MemoryCalls.revoke(index) }
      let address = unmapEverywhere(frame, in: env)
      do { try frameTable.free(frame, by: .env(id)) } catch { panic("repossessed a frame the env did not own") }
      env.pointee.framesHeld -= 1
      vector(of: env)?.append(Repossession(capability: capability, address: address))
      taken += 1
    }
    repossessed += taken
    KernelLine().text("env ").env(env.pointee).text(" missed its deadline: ").decimal(taken)
      .text(" frames taken by force").end()
  }

  /// Clears every leaf of the env that maps `frame` and drops its TLB entry;
  /// returns the first such address (0: mapped nowhere). One walk of the
  /// env's tables per frame: revocation is rare, and the kernel keeps no
  /// reverse map.
  private static func unmapEverywhere(_ frame: Frame, in env: EnvRef) -> UInt64 {
    var first: UInt64 = 0
    env.pointee.space.forEachLeaf { address, leaf in
      guard (leaf.pointee & PageTableEntry.addressMask) >> 12 == frame.number else { return }
      leaf.pointee = 0
      frameBindings.noteUnmapped(frame)
      AddressSpace.invalidate(address)
      if first == 0 { first = address }
    }
    return first
  }
}

extension AddressSpace {
  /// Every present leaf of the user half, outside the page-table view.
  func forEachLeaf(_ body: (UInt64, UnsafeMutablePointer<UInt64>) -> Void) {
    let present = PageTableEntry.present
    let pml4 = Machine.physical(root).assumingMemoryBound(to: UInt64.self)
    for i4 in 0..<256 where i4 != Int(UserSpace.pageTableViewSlot) && pml4[i4] & present != 0 {
      let pdpt = Machine.physical(pml4[i4] & PageTableEntry.addressMask).assumingMemoryBound(to: UInt64.self)
      for i3 in 0..<512 where pdpt[i3] & present != 0 {
        let pd = Machine.physical(pdpt[i3] & PageTableEntry.addressMask).assumingMemoryBound(to: UInt64.self)
        for i2 in 0..<512 where pd[i2] & present != 0 {
          let pt = Machine.physical(pd[i2] & PageTableEntry.addressMask).assumingMemoryBound(to: UInt64.self)
          for i1 in 0..<512 where pt[i1] & present != 0 {
            let address = UInt64(i4) << 39 | UInt64(i3) << 30 | UInt64(i2) << 21 | UInt64(i1) << 12
            body(address, pt + i1)
          }
        }
      }
    }
  }
}
