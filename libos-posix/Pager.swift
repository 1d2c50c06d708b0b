// Demand paging for anonymous memory: `mmap` reserves address space only;
// the first touch of a page faults, and the fault handler gives it a zeroed
// frame with the region's rights. When the app's frame budget is full a
// replacement policy picks a resident page, which goes to the backing store
// and comes back on its next fault. Hardware-free: the kernel is a generic
// parameter, so the host tests run this over a fake kernel.
import SecureBindings

public enum VMError: Error, Equatable, Sendable {
  /// A length of zero, an unaligned address, or a range outside the user half.
  case invalidArgument
  /// No gap in the libOS's address range is large enough.
  case noAddressSpace
  /// Part of the range is not reserved by `mmap`.
  case notReserved
  /// An eviction found no free slot in the backing store.
  case backingStoreFull
  case kernel(ExoError)
}

public struct PagerStatistics: Equatable, Sendable {
  public var faults = 0
  public var zeroFills = 0
  /// Pages brought back from the backing store.
  public var pageIns = 0
  /// Faults on a page that kept its frame while unmapped (a cleared
  /// reference, or PROT_NONE lifted): mapped again, no copy.
  public var softFaults = 0
  public var evictions = 0
  public var referenceClears = 0
  /// Frames spent on page tables (not part of the budget; they stay tables).
  public var tableFrames = 0
  /// Frames given back when the kernel asked, and pages whose frame it took by force.
  public var framesGivenBack = 0
  public var pagesLost = 0
  public var mostResident = 0
  public init() {}
}

public struct Pager<Kernel: PageKernel, Policy: ReplacementPolicy> {
  public let kernel: Kernel
  public private(set) var regions = RegionMap()
  public private(set) var resident: ResidentSet
  public private(set) var statistics = PagerStatistics()
  /// Why the last fault was not resolved, when a call failed.
  public private(set) var lastError: VMError?
  private var policy: Policy
  private var store: BackingStore
  private static var page: UInt64 { UserSpace.pageSize }

  /// `budget` frames at most hold demand-paged memory at any time.
  public init(kernel: Kernel, budget: Int, policy: Policy, store: BackingStore) {
    self.kernel = kernel
    self.policy = policy
    self.store = store
    resident = ResidentSet(capacity: max(budget, 1))
    limit = resident.capacity
  }

  public var budget: Int { resident.capacity }
  /// The most frames resident now: the budget, or less once frames were
  /// given back to the kernel (`giveBack`); never below one.
  public private(set) var limit: Int
  public var backingSlotsFree: Int { store.freeSlots }

  // MARK: the app's calls

  /// Reserves `length` bytes (rounded up to pages) of anonymous, private,
  /// zero-filled memory; no frame is spent until a page is touched.
  public mutating func mmap(length: UInt64, protection: Protection) throws(VMError) -> UInt64 {
    guard length > 0, length <= RegionMap.limit - RegionMap.base else { throw .invalidArgument }
    let pages = Int((length + Self.page - 1) / Self.page)
    guard let address = regions.reserve(pages: pages, protection: protection) else { throw .noAddressSpace }
    return address
  }

  /// Unmaps and frees every page of the range; unreserved pages in it are
  /// ignored, as POSIX does. The first kernel error is thrown after the rest
  /// of the range is released.
  public mutating func munmap(_ address: UInt64, length: UInt64) throws(VMError) {
    let pages = try pageCount(address, length)
    var firstError: VMError? = nil
    for i in 0..<pages {
      let page = address + UInt64(i) * Self.page
      guard let at = regions.locate(page) else { continue }
      do { try release(page, regions[at]) } catch { firstError = firstError ?? error }
    }
    regions.release(address, pages: pages)
    if let firstError { throw firstError }
  }

  /// Changes the protection of a reserved range: mapped pages through the
  /// kernel (`protect` in runs of consecutive pages; `unmap`, keeping the
  /// frame, for PROT_NONE), the others only in the record, for their next fault.
  public mutating func mprotect(_ address: UInt64, length: UInt64, protection: Protection) throws(VMError) {
    let pages = try pageCount(address, length)
    guard regions.covers(address, pages: pages) else { throw .notReserved }
    var run = PageRun()
    for i in 0..<pages {
      let page = address + UInt64(i) * Self.page
      guard let at = regions.locate(page) else { throw .notReserved }
      var record = regions[at]
      record.protection = protection
      regions[at] = record
      if case .resident(let slot) = record.state, var frame = resident[slot], frame.mapped {
        if !protection.isAccessible {
          frame.mapped = false
          resident[slot] = frame
        }
        if !run.extend(page) {
          try flush(run, protection)
          run = PageRun(start: page)
        }
      } else if run.count > 0 {
        try flush(run, protection)
        run = PageRun()
      }
    }
    try flush(run, protection)
  }

  // MARK: the fault handler

  /// Resolves a page fault if it is the pager's to resolve: inside a region,
  /// with an access the region's protection allows. Anything else (outside
  /// every region, a write to a read-only page) is left to the app.
  public mutating func resolve(_ fault: PageFault) -> Bool {
    statistics.faults += 1
    guard let at = regions.locate(fault.address) else { return false }
    var record = regions[at]
    guard record.protection.allows(fault.access) else { return false }
    let page = fault.page
    let rights = record.protection.rights
    do throws(VMError) {
      switch record.state {
      case .resident(let slot):
        // Still holds its frame: only the mapping went (a cleared reference).
        guard var frame = resident[slot], !frame.mapped else { return false }
        try mapPage(page, frame.capability, rights)
        frame.mapped = true
        resident[slot] = frame
        policy.touched(slot)
        statistics.softFaults += 1
        return true
      case .untouched:
        let capability = try takeFrame()
        do throws(VMError) { try mapPage(page, capability, rights) } catch {
          try? kernel.frameFree(capability)
          throw error
        }
        record.state = .resident(slot: admit(page, capability))
        statistics.zeroFills += 1
      case .swapped(let storeSlot):
        let capability = try takeFrame()
        do throws(VMError) {
          // Written through a writable mapping, then narrowed if the region is not writable.
          try mapPage(page, capability, writable(rights))
          kernel.copyIn(page: page, from: UnsafeRawPointer(store.address(of: storeSlot)))
          if !rights.writable { try call { () throws(ExoError) in try kernel.protect(page, pages: 1, rights) } }
        } catch {
          try? kernel.unmap(page, pages: 1)
          try? kernel.frameFree(capability)
          throw error
        }
        store.give(storeSlot)
        record.state = .resident(slot: admit(page, capability))
        statistics.pageIns += 1
      }
    } catch {
      lastError = error
      return false
    }
    regions[at] = record
    return true
  }

  // MARK: frames and the budget

  /// A fresh frame (zeroed by the kernel), evicting first when the budget is
  /// full, and once more if the kernel says the quota is.
  private mutating func takeFrame() throws(VMError) -> FrameCapability {
    try makeRoom()
    do throws(ExoError) {
      return try kernel.frameAlloc()
    } catch .quotaExceeded where resident.count > 0 {
      try evictOne()
      return try call { () throws(ExoError) in try kernel.frameAlloc() }
    } catch {
      throw .kernel(error)
    }
  }

  private mutating func admit(_ page: UInt64, _ capability: FrameCapability) -> Int {
    // takeFrame made room, so a slot is free.
    let slot = resident.admit(ResidentFrame(address: page, capability: capability, mapped: true))!
    policy.loaded(slot)
    statistics.mostResident = max(statistics.mostResident, resident.count)
    return slot
  }

  private mutating func makeRoom() throws(VMError) {
    while resident.isFull || resident.count >= limit { try evictOne() }
  }

  // MARK: visible revocation

  /// The kernel asked for `frames` back: evicts that many resident pages
  /// (their bytes go to the backing store, as for any eviction) and lowers
  /// the limit, so the frames stay given. One frame always stays, so a
  /// request larger than the pager holds leaves the rest to the kernel's
  /// forced repossession. Returns how many frames went back.
  public mutating func giveBack(_ frames: Int) -> Int {
    var given = 0
    while given < frames && limit > 1 {
      limit -= 1
      if resident.count > limit {
        do throws(VMError) { try evictOne() } catch {
          lastError = error
          break
        }
        statistics.framesGivenBack += 1
        given += 1
      }
    }
    return given
  }

  /// The kernel took `capability`'s frame by force (the repossession
  /// vector said so): the page it held lost its bytes, so it reads as zero
  /// next time, like a page never touched. There is no copy to recover:
  /// the kernel freed the frame without asking. Returns whether the frame
  /// was one of the pager's.
  public mutating func forget(repossessed capability: FrameCapability) -> Bool {
    for slot in 0..<resident.capacity {
      guard let frame = resident[slot], frame.capability == capability else { continue }
      resident.remove(slot)
      policy.released(slot)
      if let at = regions.locate(frame.address) {
        var record = regions[at]
        record.state = .untouched
        regions[at] = record
      }
      statistics.pagesLost += 1
      return true
    }
    return false
  }

  /// Follows the policy's steps until one page is evicted.
  private mutating func evictOne() throws(VMError) {
    // Two turns of a clock hand at most; more would mean a policy bug.
    for _ in 0..<(2 * resident.capacity + 2) {
      switch policy.next() {
      case .clearReference(let slot):
        guard var frame = resident[slot] else { continue }
        if frame.mapped {
          try call { () throws(ExoError) in try kernel.unmap(frame.address, pages: 1) }
          frame.mapped = false
          resident[slot] = frame
        }
        statistics.referenceClears += 1
      case .evict(let slot):
        guard resident[slot] != nil else { continue }
        try evict(slot)
        return
      }
    }
    throw .kernel(.quotaExceeded)
  }

  /// Copies the page to a backing-store slot and gives its frame back.
  private mutating func evict(_ slot: Int) throws(VMError) {
    let frame = resident[slot]!
    guard let storeSlot = store.take() else { throw .backingStoreFull }
    do throws(VMError) {
      // An unmapped page (cleared reference, PROT_NONE) is read through a
      // read-only mapping at its own address; its tables are still there.
      if !frame.mapped { try mapPage(frame.address, frame.capability, .readOnly) }
      kernel.copyOut(page: frame.address, to: store.address(of: storeSlot))
      try call { () throws(ExoError) in try kernel.unmap(frame.address, pages: 1) }
      try call { () throws(ExoError) in try kernel.frameFree(frame.capability) }
    } catch {
      store.give(storeSlot)
      throw error
    }
    resident.remove(slot)
    policy.released(slot)
    if let at = regions.locate(frame.address) {
      var record = regions[at]
      record.state = .swapped(slot: storeSlot)
      regions[at] = record
    }
    statistics.evictions += 1
  }

  /// Gives back what one page holds: its frame (unmapped first) or its slot.
  private mutating func release(_ page: UInt64, _ record: PageRecord) throws(VMError) {
    switch record.state {
    case .untouched:
      break
    case .swapped(let storeSlot):
      store.give(storeSlot)
    case .resident(let slot):
      guard let frame = resident[slot] else { return }
      resident.remove(slot)
      policy.released(slot)
      if frame.mapped { try call { () throws(ExoError) in try kernel.unmap(page, pages: 1) } }
      try call { () throws(ExoError) in try kernel.frameFree(frame.capability) }
    }
  }

  // MARK: helpers

  private mutating func mapPage(_ page: UInt64, _ capability: FrameCapability, _ rights: PageRights) throws(VMError) {
    let tables = try call { () throws(ExoError) in try kernel.mapSupplyingTables(page, capability, rights) }
    statistics.tableFrames += tables
  }

  private func writable(_ rights: PageRights) -> PageRights {
    (try? PageRights(raw: rights.raw | PageRights.write.raw)) ?? .write
  }

  /// Protects (or, for PROT_NONE, unmaps) one run of mapped pages.
  private func flush(_ run: PageRun, _ protection: Protection) throws(VMError) {
    guard run.count > 0 else { return }
    try call { () throws(ExoError) in
      if protection.isAccessible {
        try kernel.protect(run.start, pages: run.count, protection.rights)
      } else {
        try kernel.unmap(run.start, pages: run.count)
      }
    }
  }

  private func pageCount(_ address: UInt64, _ length: UInt64) throws(VMError) -> Int {
    guard length > 0, address & (Self.page - 1) == 0, address < UserSpace.top,
      length <= UserSpace.top - address
    else { throw .invalidArgument }
    return Int((length + Self.page - 1) / Self.page)
  }

  private func call<T>(_ body: () throws(ExoError) -> T) throws(VMError) -> T {
    do { return try body() } catch { throw .kernel(error) }
  }
}

/// Consecutive pages, at most as many as one kernel call takes.
struct PageRun {
  var start: UInt64 = 0
  var count: UInt64 = 0

  init() {}
  init(start: UInt64) {
    self.start = start
    count = 1
  }

  /// Adds `page` if it continues the run and the run has room.
  mutating func extend(_ page: UInt64) -> Bool {
    if count == 0 {
      start = page
      count = 1
      return true
    }
    guard page == start + count * UserSpace.pageSize, count < KernelCall.batchLimit else { return false }
    count += 1
    return true
  }
}
