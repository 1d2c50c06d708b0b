// The memory kernel calls: frames by capability, and page-table entries in
// the caller's own address space. Each call checks everything first
// (`decode`, may throw, changes nothing) and then acts (cannot fail). The
// kernel decides only whether: which frame, which address and when are the
// libOS's choice [Engler95].
import SecureBindings

/// A refused call: the error for RAX and a detail for RDX (the missing
/// table's level for `need_table`, the failing entry for `map_batch`).
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
    return frameBindings.claim(frame).raw
  }

  static func frameFree(_ env: EnvRef, _ rawCapability: UInt64) throws(CallFailure) {
    let frame = try held(rawCapability, by: env)
    guard frameBindings.isIdle(frame) else { throw CallFailure(.frameInUse) }
    do { try frameTable.free(frame, by: .env(env.pointee.id)) } catch { throw CallFailure(.badCapability) }
    env.pointee.framesHeld -= 1
  }

  // MARK: mappings

  static func map(_ env: EnvRef, _ address: UInt64, _ rawCapability: UInt64, _ rawRights: UInt64) throws(CallFailure) {
    guard UserSpace.isMappable(address) else { throw CallFailure(.badAddress) }
    let rights: PageRights
    do { rights = try PageRights(raw: rawRights) } catch { throw CallFailure(error) }
    let frame = try held(rawCapability, by: env)
    guard frameBindings.canMap(frame) else { throw CallFailure(.frameInUse) }
    let slot = try emptySlot(env, level: 1, for: address)
    // The entry was not present, so no TLB holds it: nothing to invalidate.
    slot.pointee = PageTableEntry.leaf(frame, rights)
    frameBindings.noteMapped(frame)
  }

  static func mapTable(_ env: EnvRef, _ address: UInt64, _ level: UInt64, _ rawCapability: UInt64) throws(CallFailure) {
    guard (1...3).contains(level) else { throw CallFailure(.badArgument) }
    guard UserSpace.isMappable(address & ~(UserSpace.pageSize - 1)) else { throw CallFailure(.badAddress) }
    let frame = try held(rawCapability, by: env)
    guard frameBindings.isIdle(frame) else { throw CallFailure(.frameInUse) }
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
        throw CallFailure(error.error, value: error.error == .needTable ? error.value : UInt64(i))
      }
    }
    return count
  }

  static func unmap(_ env: EnvRef, _ address: UInt64, _ pages: UInt64) throws(CallFailure) {
    let leaves = try mappedPages(env, address, pages)
    for i in 0..<Int(pages) {
      frameBindings.noteUnmapped(Frame(number: (leaves[i].pointee & PageTableEntry.addressMask) >> 12))
      leaves[i].pointee = 0
      AddressSpace.invalidate(address + UInt64(i) * UserSpace.pageSize)
    }
  }

  static func protect(_ env: EnvRef, _ address: UInt64, _ pages: UInt64, _ rawRights: UInt64) throws(CallFailure) {
    let rights: PageRights
    do { rights = try PageRights(raw: rawRights) } catch { throw CallFailure(error) }
    let leaves = try mappedPages(env, address, pages)
    for i in 0..<Int(pages) {
      let frame = Frame(number: (leaves[i].pointee & PageTableEntry.addressMask) >> 12)
      leaves[i].pointee = PageTableEntry.leaf(frame, rights)
      AddressSpace.invalidate(address + UInt64(i) * UserSpace.pageSize)
    }
  }

  // MARK: exceptions

  static func setExceptionHandler(_ env: EnvRef, _ entry: UInt64, _ stack: UInt64, _ shared: UInt64) throws(CallFailure) {
    if entry == 0 {
      unregisterHandler(env)
      return
    }
    guard entry >= UserSpace.lowest, entry < UserSpace.top, stack & 15 == 0, stack > UserSpace.lowest,
      stack <= UserSpace.top, UserSpace.isMappable(shared)
    else { throw CallFailure(.badAddress) }
    guard env.pointee.space.isUserAccessible(shared, write: true), let physical = env.pointee.space.translate(shared)
    else { throw CallFailure(.notMapped) }
    let frame = Frame(number: physical >> 12)
    unregisterHandler(env)
    // Pinned: the frame cannot be freed while the kernel may write to it,
    // whether or not the env keeps it mapped.
    frameBindings.pin(frame)
    env.pointee.exceptionEntry = entry
    env.pointee.exceptionStack = stack
    env.pointee.sharedPageAddress = shared
    env.pointee.sharedFrame = frame
  }

  static func unregisterHandler(_ env: EnvRef) {
    guard env.pointee.exceptionEntry != 0 else { return }
    frameBindings.unpin(env.pointee.sharedFrame)
    env.pointee.exceptionEntry = 0
  }

  // MARK: checks shared by the calls

  private static func held(_ rawCapability: UInt64, by env: EnvRef) throws(CallFailure) -> Frame {
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
    var leaves = LeafList()
    for i in 0..<pages {
      let page = address &+ i &* UserSpace.pageSize
      guard UserSpace.isMappable(page), page >= address else { throw CallFailure(.badAddress) }
      guard let leaf = env.pointee.space.leaf(page) else { throw CallFailure(.notMapped) }
      leaves.append(leaf)
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
  nonisolated(unsafe) private static let storage = UnsafeMutablePointer<UnsafeMutablePointer<UInt64>?>.allocate(
    capacity: Int(KernelCall.batchLimit))
  private(set) var count = 0

  /// Takes the storage at boot, so that no kernel call ever allocates.
  static func reserve() { _ = storage }

  mutating func append(_ leaf: UnsafeMutablePointer<UInt64>) {
    Self.storage[count] = leaf
    count += 1
  }

  subscript(i: Int) -> UnsafeMutablePointer<UInt64> { Self.storage[i]! }
}
