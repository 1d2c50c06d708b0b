// The memory kernel calls: frames by capability, and page-table entries in
// the caller's own address space. Each call checks everything first
// (`decode`, may throw, changes nothing) and then acts (cannot fail). The
// kernel decides only whether: which frame, which address and when are the
// libOS's choice [Engler95].
import SecureBindings

/// A refused call: the error for RAX and a detail for RDX (the missing
/// table's level for `need_table` from `map`/`map_table`, the failing
/// entry's index for every error of `map_batch`).
struct CallFailure: Error {
  let error: ExoError
  var value: UInt64 = 0

  init(_ error: ExoError, value: UInt64 = 0) {
    self.error = error
    self.value = value
  }
}

enum MemoryCalls {
  typealias EnvRef = UnsafeMutablePointer<Env>

  // MARK: frames

  static func frameAlloc(_ env: EnvRef) throws(CallFailure) -> UInt64 {
    guard env.pointee.framesHeld < env.pointee.frameQuota else { throw CallFailure(.quotaExceeded) }
    guard let frame = frameTable.allocate(for: .env(env.pointee.id)) else { throw CallFailure(.noFrames) }
    // Another env may have left its bytes here: never hand them on.
    Machine.zeroFrame(frame)
    env.pointee.framesHeld += 1
    env.pointee.recent.note(frame)
    return frameBindings.claim(frame).raw
  }

  static func frameFree(_ env: EnvRef, _ rawCapability: UInt64) throws(CallFailure) {
    let frame = try held(rawCapability, by: env)
    if frameBindings.isPinned(frame) { Network.waitForSends() }
    guard frameBindings.isIdle(frame), !grantTable.hasGrants(of: frame) else { throw CallFailure(.frameInUse) }
    do { try frameTable.free(frame, by: .env(env.pointee.id)) } catch { throw CallFailure(.badCapability) }
    env.pointee.framesHeld -= 1
    Revocation.noteFreed(env)
  }

  // MARK: mappings

  /// trap.S's map_fast does the common case without Swift and sends
  /// everything else here, so this says which check failed; `map_batch`
  /// calls it per entry. Kept short: the tables are reached through their
  /// storage rather than the globals (no lazy-initialisation check, no
  /// copy), the caller's own frame is checked first (a grant only when it
  /// is not), and the walk to the leaf is inline. The checks, the same as
  /// map_fast's:
  /// the address (page-aligned, in the user half, not the page-table view),
  /// the rights' bits, the capability's frame number and generation, its
  /// owner (or a grant with the rights asked), a page-table frame or a full
  /// map count, the tables down to the leaf and the leaf not yet present.
  @inline(__always)
  static func map(_ env: EnvRef, _ address: UInt64, _ rawCapability: UInt64, _ rawRights: UInt64) throws(CallFailure) {
    guard UserSpace.isMappable(address) else { throw CallFailure(.badAddress) }
    let rights: PageRights
    do { rights = try PageRights(raw: rawRights) } catch { throw CallFailure(error) }
    let capability = FrameCapability(raw: rawCapability)
    var bindings = bindingsView
    guard bindings.isCurrent(capability) else { throw CallFailure(.badCapability) }
    let frame = capability.frame
    var grant: Int? = nil
    if !FrameTable.isHeld(frame, by: env.pointee.id, inZeroFilled: Machine.frameOwnerStorage()) {
      grant = try grantToMap(env, frame, rights)
    }
    guard bindings.canMap(frame) else { throw CallFailure(.frameInUse) }
    let slot = try emptyLeaf(env, address)
    // The entry was not present, so no TLB holds it: nothing to invalidate.
    slot.pointee = PageTableEntry.leaf(frame, rights)
    bindings.noteMapped(frame)
    if let grant { grantTable[grant].mappedAt = address }
  }

  /// The kernel's frame bindings without the global: FrameBindings holds
  /// nothing but pointers to its storage, so a view made on the same
  /// storage reads and writes the very same table.
  @inline(__always)
  private static var bindingsView: FrameBindings {
    FrameBindings(generations: Machine.frameGenerationStorage(), uses: Machine.frameUseStorage())
  }

  /// A frame the env does not own may still be mapped through a grant to
  /// it, with no more than the granted rights, once at a time.
  @inline(never)
  private static func grantToMap(_ env: EnvRef, _ frame: Frame, _ rights: PageRights) throws(CallFailure) -> Int {
    guard let index = grantTable.find(frame: frame, grantee: env.pointee.id) else { throw CallFailure(.badCapability) }
    guard rights.isSubset(of: grantTable[index].rights) else { throw CallFailure(.badCapability) }
    guard grantTable[index].mappedAt == 0 else { throw CallFailure(.alreadyMapped) }
    return index
  }

  /// The not-yet-present leaf entry for `address`, walking down from the
  /// env's root; `needTable` names the level of the first table missing.
  @inline(__always)
  private static func emptyLeaf(_ env: EnvRef, _ address: UInt64) throws(CallFailure) -> UnsafeMutablePointer<UInt64> {
    // Table addresses come from entries the kernel wrote (a frame's
    // physical address), so the unchecked arithmetic below cannot wrap.
    var table = env.pointee.space.root
    var shift: UInt64 = 39
    while shift > 12 {
      let entry = Machine.physicalUnchecked(table &+ ((address &>> shift) & 511) &* 8).load(as: UInt64.self)
      guard entry & PageTableEntry.present != 0 else { throw CallFailure(.needTable, value: (shift &- 12) / 9) }
      table = entry & PageTableEntry.addressMask
      shift &-= 9
    }
    let slot = Machine.physicalUnchecked(table &+ ((address &>> 12) & 511) &* 8).assumingMemoryBound(to: UInt64.self)
    guard slot.pointee & PageTableEntry.present == 0 else { throw CallFailure(.alreadyMapped) }
    return slot
  }

  static func mapTable(_ env: EnvRef, _ address: UInt64, _ level: UInt64, _ rawCapability: UInt64) throws(CallFailure) {
    guard (1...3).contains(level) else { throw CallFailure(.badArgument) }
    guard UserSpace.isMappable(address & ~(UserSpace.pageSize - 1)) else { throw CallFailure(.badAddress) }
    let frame = try held(rawCapability, by: env)
    if frameBindings.isPinned(frame) { Network.waitForSends() }
    guard frameBindings.isIdle(frame), !grantTable.hasGrants(of: frame) else { throw CallFailure(.frameInUse) }
    let slot = try emptySlot(env, level: Int(level) + 1, for: address)
    Machine.zeroFrame(frame)
    slot.pointee = PageTableEntry.table(frame)
    frameBindings.markPageTable(frame)
  }

  static func mapBatch(_ env: EnvRef, _ entries: UInt64, _ count: UInt64) throws(CallFailure) -> UInt64 {
    guard count >= 1, count <= KernelCall.batchLimit else { throw CallFailure(.badLength) }
    let range = try readable(env, entries, count * 24)
    let words = UnsafePointer<UInt64>(bitPattern: UInt(range.start))!
    for i in 0..<Int(count) {
      do {
        try map(env, words[3 * i], words[3 * i + 1], words[3 * i + 2])
      } catch {
        // The failing entry's index, for need_table too: the libOS needs to
        // know where the batch stopped; a `map` of that entry names the level.
        throw CallFailure(error.error, value: UInt64(i))
      }
    }
    return count
  }

  static func unmap(_ env: EnvRef, _ address: UInt64, _ pages: UInt64) throws(CallFailure) {
    let leaves = try mappedPages(env, address, pages)
    var bindings = bindingsView
    let owners = Machine.frameOwnerStorage()
    for i in 0..<Int(pages) {
      let frame = Frame(number: (leaves[i].pointee & PageTableEntry.addressMask) >> 12)
      bindings.noteUnmapped(frame)
      if !FrameTable.isHeld(frame, by: env.pointee.id, inZeroFilled: owners),
        let grant = grantTable.find(frame: frame, grantee: env.pointee.id)
      {
        grantTable[grant].mappedAt = 0
      }
      leaves[i].pointee = 0
      AddressSpace.invalidate(address + UInt64(i) * UserSpace.pageSize)
    }
  }

  static func protect(_ env: EnvRef, _ address: UInt64, _ pages: UInt64, _ rawRights: UInt64) throws(CallFailure) {
    let rights: PageRights
    do { rights = try PageRights(raw: rawRights) } catch { throw CallFailure(error) }
    let leaves = try mappedPages(env, address, pages)
    // Rights come from the env's authority over each frame, not from the
    // entry it has now: a granted page cannot be raised past its grant, and
    // a page the kernel mapped for it (its own page tables' view) not at all.
    // The owners are read from their storage, not through the global table
    // (a global's read is a lazy-initialisation check and a copy).
    let owners = Machine.frameOwnerStorage()
    let id = env.pointee.id
    for i in 0..<Int(pages) {
      let frame = Frame(number: (leaves[i].pointee & PageTableEntry.addressMask) >> 12)
      if FrameTable.isHeld(frame, by: id, inZeroFilled: owners) { continue }
      let grants = grantTable
      guard let grant = grants.find(frame: frame, grantee: env.pointee.id), rights.isSubset(of: grants[grant].rights)
      else { throw CallFailure(.badCapability) }
    }
    for i in 0..<Int(pages) {
      let frame = Frame(number: (leaves[i].pointee & PageTableEntry.addressMask) >> 12)
      leaves[i].pointee = PageTableEntry.leaf(frame, rights)
      AddressSpace.invalidate(address + UInt64(i) * UserSpace.pageSize)
    }
  }

  // MARK: grants

  static func frameGrant(_ env: EnvRef, _ rawCapability: UInt64, _ grantee: UInt64, _ rawRights: UInt64)
    throws(CallFailure)
  {
    let frame = try held(rawCapability, by: env)
    let other = try liveEnv(grantee, besides: env)
    let rights: PageRights
    do { rights = try PageRights(raw: rawRights) } catch { throw CallFailure(error) }
    if frameBindings.isPinned(frame) { Network.waitForSends() }
    guard !frameBindings.isPageTable(frame), !frameBindings.isPinned(frame) else { throw CallFailure(.frameInUse) }
    do {
      _ = try grantTable.add(Grant(frame: frame, owner: env.pointee.id, grantee: other, rights: rights))
    } catch { throw CallFailure(error) }
  }

  static func frameRevoke(_ env: EnvRef, _ rawCapability: UInt64, _ grantee: UInt64) throws(CallFailure) {
    let frame = try held(rawCapability, by: env)
    let other = try liveEnv(grantee, besides: env)
    guard let grant = grantTable.find(frame: frame, grantee: other) else { throw CallFailure(.notMapped) }
    revoke(grant)
  }

  /// Ends a grant, taking the page out of the grantee's address space. The
  /// grantee is not running (one CPU, and the caller is someone else), and
  /// the CR3 switch that stopped it flushed its TLB entries.
  static func revoke(_ grant: Int) {
    let record = grantTable[grant]
    if record.mappedAt != 0, let leaf = envTable[record.grantee].pointee.space.leaf(record.mappedAt) {
      leaf.pointee = 0
      frameBindings.noteUnmapped(record.frame)
    }
    grantTable.remove(grant)
  }

  /// At exit: grants the env made are revoked; grants it received just end,
  /// since its page tables go with it.
  static func endGrants(of env: EnvRef) {
    let id = env.pointee.id
    grantTable.forEach(involving: id) { index, grant in
      if grant.owner == id {
        revoke(index)
      } else {
        if grant.mappedAt != 0 { frameBindings.noteUnmapped(grant.frame) }
        grantTable.remove(index)
      }
    }
  }

  private static func liveEnv(_ raw: UInt64, besides env: EnvRef) throws(CallFailure) -> EnvID {
    guard raw >= 1, raw <= UInt64(envTable.count), raw != UInt64(env.pointee.id.raw) else {
      throw CallFailure(.noSuchEnv)
    }
    let id = EnvID(UInt16(raw))
    // Alive: running, ready, or waiting for an event (which a grant may be).
    let state = envTable[id].pointee.state
    guard state == .runnable || state == .blocked else { throw CallFailure(.noSuchEnv) }
    return id
  }

  // MARK: exceptions

  static func setExceptionHandler(
    _ env: EnvRef, _ entry: UInt64, _ stack: UInt64, _ shared: UInt64, _ flags: UInt64
  ) throws(CallFailure) {
    if entry == 0 {
      unregisterHandler(env)
      return
    }
    guard entry >= UserSpace.lowest, entry < UserSpace.top, stack & 15 == 0, stack > UserSpace.lowest,
      stack <= UserSpace.top, UserSpace.isMappable(shared)
    else { throw CallFailure(.badAddress) }
    guard flags & ~ExceptionSlot.sliceUpcallsFlag == 0 else { throw CallFailure(.badArgument) }
    guard env.pointee.space.isUserAccessible(shared, write: true), let physical = env.pointee.space.translate(shared)
    else { throw CallFailure(.notMapped) }
    let frame = Frame(number: physical >> 12)
    // Only its own frame: the kernel keeps writing here after any grant ends.
    guard frameTable.owner(of: frame) == .env(env.pointee.id) else { throw CallFailure(.badCapability) }
    unregisterHandler(env)
    // Pinned: the frame cannot be freed while the kernel may write to it,
    // whether or not the env keeps it mapped.
    frameBindings.pin(frame)
    env.pointee.exceptionEntry = entry
    env.pointee.exceptionStack = stack
    env.pointee.sharedPageAddress = shared
    env.pointee.sharedFrame = frame
    env.pointee.sliceUpcalls = flags & ExceptionSlot.sliceUpcallsFlag != 0
    publishUpcall(env)
  }

  static func unregisterHandler(_ env: EnvRef) {
    guard env.pointee.exceptionEntry != 0 else { return }
    frameBindings.unpin(env.pointee.sharedFrame)
    env.pointee.exceptionEntry = 0
    env.pointee.sliceUpcalls = false
    publishUpcall(env)
  }

  // MARK: checks shared by the calls

  static func held(_ rawCapability: UInt64, by env: EnvRef) throws(CallFailure) -> Frame {
    do {
      return try frameBindings.check(FrameCapability(raw: rawCapability), heldBy: env.pointee.id, in: frameTable)
    } catch { throw CallFailure(error) }
  }

  /// The not-yet-present slot of the level-`level` table for `address`.
  private static func emptySlot(_ env: EnvRef, level: Int, for address: UInt64) throws(CallFailure)
    -> UnsafeMutablePointer<UInt64>
  {
    switch env.pointee.space.entry(at: level, for: address) {
    case .failure(let missing): throw CallFailure(.needTable, value: UInt64(missing.level))
    case .success(let slot):
      guard slot.pointee & PageTableEntry.present == 0 else { throw CallFailure(.alreadyMapped) }
      return slot
    }
  }

  /// Every leaf of `pages` pages from `address`, all present, or an error.
  private static func mappedPages(_ env: EnvRef, _ address: UInt64, _ pages: UInt64) throws(CallFailure)
    -> LeafList
  {
    guard pages >= 1, pages <= KernelCall.batchLimit else { throw CallFailure(.badLength) }
    // The whole range must be addresses the env may map before any page of
    // it is looked at: a range that wraps or crosses the top is a bad address.
    let (last, overflow) = address.addingReportingOverflow((pages - 1) * UserSpace.pageSize)
    guard !overflow, UserSpace.isMappable(address), UserSpace.isMappable(last),
      !(address < UserSpace.pageTableView && last >= UserSpace.pageTableView)
    else { throw CallFailure(.badAddress) }
    // One walk per page table (512 pages), then the next entry is the next page.
    var leaves = LeafList()
    var entry: UnsafeMutablePointer<UInt64>? = nil
    for i in 0..<pages {
      let page = address + i * UserSpace.pageSize
      if entry == nil || (page >> 12) & 511 == 0 {
        guard case .success(let slot) = env.pointee.space.entry(at: 1, for: page) else { throw CallFailure(.notMapped) }
        entry = slot
      } else {
        entry = entry! + 1
      }
      guard entry!.pointee & PageTableEntry.present != 0 else { throw CallFailure(.notMapped) }
      leaves.append(entry!)
    }
    return leaves
  }

  /// A user buffer the env can read: range-checked and mapped page by page.
  static func readable(_ env: EnvRef, _ start: UInt64, _ length: UInt64) throws(CallFailure) -> UserRange {
    let range: UserRange
    do { range = try UserRange.check(start: start, length: length) } catch { throw CallFailure(error) }
    var page = range.firstPage
    for _ in 0..<range.pageCount {
      guard env.pointee.space.isUserAccessible(page, write: false) else { throw CallFailure(.badAddress) }
      page += UserSpace.pageSize
    }
    return range
  }
}

/// Up to `KernelCall.batchLimit` leaf entries, kept in the kernel's static
/// storage rather than on the heap: the kernel allocates nothing after boot.
struct LeafList {
  /// Constant-initialised (no lazy-initialisation check per access), taken in `reserve`.
  nonisolated(unsafe) private static var storage: UnsafeMutablePointer<UnsafeMutablePointer<UInt64>?>? = nil
  private(set) var count = 0

  /// Takes the storage at boot, so that no kernel call ever allocates.
  static func reserve() { storage = .allocate(capacity: Int(KernelCall.batchLimit)) }

  mutating func append(_ leaf: UnsafeMutablePointer<UInt64>) {
    Self.storage.unsafelyUnwrapped[count] = leaf
    count += 1
  }

  subscript(i: Int) -> UnsafeMutablePointer<UInt64> { Self.storage.unsafelyUnwrapped[i].unsafelyUnwrapped }
}
