// badmem: every memory kernel call with what it must refuse: forged frame
// capabilities (made-up frames, wrong generations, freed frames, its own
// page tables found through the page-table view), addresses in the kernel
// half, non-canonical, null or in the view, bad rights and levels, unmapped
// pages, frames in use, and allocation past its quota. Each must come back
// as the right error code, never as a fault; exits 0 if all do.
import LibOSRuntime
import SecureBindings
import UserArch

@main
struct BadMem {
  nonisolated(unsafe) static var mismatches = 0
  nonisolated(unsafe) static var checked = 0

  static let scratch: UInt64 = 0x3000_0000_0000
  /// Unmapped, but its tables exist once `scratch` is mapped.
  static let target: UInt64 = scratch + 3 * UserSpace.pageSize
  /// Covered by no table yet: a level-3 table there is missing.
  static let bare: UInt64 = 0x3100_0000_0000
  static let page = UserSpace.pageSize

  static func call(_ c: KernelCall, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0) -> (status: UInt64, value: UInt64) {
    Exo.rawCall(c.rawValue, a0, a1, a2)
  }

  static func expect(_ what: StaticString, _ result: (status: UInt64, value: UInt64), _ error: ExoError) {
    checked += 1
    if result.status == error.rawValue {
      print("refused \(what.description): \(error.name.description)")
    } else {
      mismatches += 1
      print("WRONG \(what.description): status \(result.status), expected \(error.rawValue)")
    }
  }

  /// Where the table lets the kernel answer with either of two errors.
  static func expectOneOf(_ what: StaticString, _ result: (status: UInt64, value: UInt64), _ a: ExoError, _ b: ExoError) {
    checked += 1
    if result.status == a.rawValue || result.status == b.rawValue {
      print("refused \(what.description): status \(result.status)")
    } else {
      mismatches += 1
      print("WRONG \(what.description): status \(result.status), expected \(a.rawValue) or \(b.rawValue)")
    }
  }

  static func expectSuccess(_ what: StaticString, _ result: (status: UInt64, value: UInt64)) {
    checked += 1
    if result.status == 0 {
      print("allowed \(what.description)")
    } else {
      mismatches += 1
      print("WRONG \(what.description): status \(result.status), expected 0")
    }
  }

  static func check(_ what: StaticString, _ ok: Bool) {
    checked += 1
    if ok {
      print("holds: \(what.description)")
    } else {
      mismatches += 1
      print("WRONG \(what.description)")
    }
  }

  static func main() {
    if App.argumentIs("hoard") { hoard() }
    if App.argumentIs("granter") { granter() }
    if App.argumentIs("grantee") { grantee() }
    guard let real = try? Exo.frameAlloc(), let other = try? Exo.frameAlloc() else {
      print("frame_alloc failed: is the memory work in the kernel?")
      Exo.exit(1)
    }
    // The scratch page is mapped first, so that its tables exist and a
    // refusal below cannot be need_table instead of the error it tests.
    do {
      try ExoPageKernel().mapSupplyingTables(scratch, real, .write)
    } catch {
      print("WRONG map of a frame it holds, supplying tables: \(error.name.description)")
      Exo.exit(1)
    }
    forgedCapabilities(real)
    pageTableFrames()
    badAddresses(real)
    framesInUse(real, other)
    fastMapEdges(other)
    badRightsAndLevels(other)
    unmappedPages()
    batches(other)
    exceptionHandlers()
    expectSuccess("unmap of the scratch page", call(.unmap, scratch, 1))
    expectSuccess("frame_free once unmapped", call(.frameFree, real.raw))
    expectSuccess("frame_free of the other frame", call(.frameFree, other.raw))
    quota()

    if mismatches == 0 {
      print("all \(checked) memory checks answered correctly; the kernel is alive")
      Exo.exit(0)
    }
    print("\(mismatches) of \(checked) memory checks answered wrongly")
    Exo.exit(1)
  }

  static func forgedCapabilities(_ real: FrameCapability) {
    let madeUp = FrameCapability(frame: Frame(number: 0xf_ffff), generation: 1)
    let lowMemory = FrameCapability(frame: Frame(number: 0x100), generation: 0)  // the kernel's image
    expect("frame_free of a made-up frame", call(.frameFree, madeUp.raw), .badCapability)
    expect("map of a made-up frame", call(.map, target, madeUp.raw, 1), .badCapability)
    expect("map of a kernel frame", call(.map, target, lowMemory.raw, 1), .badCapability)
    expect("map_table with a made-up frame", call(.mapTable, bare, 3, madeUp.raw), .badCapability)
    let stale = FrameCapability(frame: real.frame, generation: real.generation &+ 1)
    expect("map with a wrong generation", call(.map, target, stale.raw, 1), .badCapability)
    expect("frame_free with a wrong generation", call(.frameFree, stale.raw), .badCapability)
    guard let freed = try? Exo.frameAlloc() else {
      check("frame_alloc of a third frame", false)
      return
    }
    expectSuccess("frame_free of a frame it holds", call(.frameFree, freed.raw))
    expect("map of a freed frame", call(.map, target, freed.raw, 1), .badCapability)
    expect("map_table with a freed frame", call(.mapTable, bare, 3, freed.raw), .badCapability)
    expect("frame_free twice", call(.frameFree, freed.raw), .badCapability)
  }

  /// Reads its own table entries through the view, takes the frame numbers
  /// of its page tables from them, and tries to map those frames as data or
  /// install them as tables elsewhere, guessing every small generation.
  static func pageTableFrames() {
    let stackPage = UserSpace.stackTop - page
    let tables: [(StaticString, UInt64)] = [
      ("page table", exo_load64(PageTableView.entryAddress(of: stackPage, level: 2))),
      ("page directory", exo_load64(PageTableView.entryAddress(of: stackPage, level: 3))),
      ("PDPT", exo_load64(PageTableView.entryAddress(of: stackPage, level: 4))),
      ("PML4", exo_load64(PageTableView.entryAddress(of: UserSpace.pageTableView, level: 4))),
    ]
    let leaf = exo_load64(PageTableView.entryAddress(of: stackPage, level: 1))
    check("the view shows the stack page present, user, writable, no-execute",
      leaf & (PageTableView.present | PageTableView.user | PageTableView.writable) == 7
        && leaf & PageTableView.noExecute != 0)
    for (name, entry) in tables {
      let frame = Frame(number: PageTableView.frameNumber(ofEntry: entry))
      var refused = 0
      var granted = 0
      for generation in 0...64 {
        let forged = FrameCapability(frame: frame, generation: UInt16(generation)).raw
        for attempt in 0..<2 {
          let r = attempt == 0
            ? call(.map, target, forged, 1)
            : call(.mapTable, bare, 3, forged)
          if r.status == ExoError.badCapability.rawValue || r.status == ExoError.frameInUse.rawValue {
            refused += 1
          } else {
            granted += 1
            if r.status == 0 && attempt == 0 { _ = call(.unmap, target, 1) }
          }
        }
      }
      checked += 1
      if granted == 0 && entry & PageTableView.present != 0 {
        print("refused map and map_table of its own \(name.description) (frame \(frame.number)), generations 0...64: \(refused) times")
      } else {
        mismatches += 1
        print("WRONG its own \(name.description) (entry \(entry)): \(granted) of \(refused + granted) forged calls not refused")
      }
    }
  }

  static func badAddresses(_ real: FrameCapability) {
    let cap = real.raw
    expect("map in the kernel half", call(.map, 0xffff_8000_0000_0000, cap, 1), .badAddress)
    expect("map over the kernel image", call(.map, 0xffff_ffff_8000_0000, cap, 1), .badAddress)
    expect("map non-canonical", call(.map, 0x0000_8000_0000_0000, cap, 1), .badAddress)
    expect("map far non-canonical", call(.map, 0x0123_4567_8000_0000, cap, 1), .badAddress)
    expect("map at null", call(.map, 0, cap, 1), .badAddress)
    expect("map below 64 KiB", call(.map, 0x1000, cap, 1), .badAddress)
    expect("map in the page-table view", call(.map, UserSpace.pageTableView, cap, 1), .badAddress)
    expect("map inside the page-table view", call(.map, UserSpace.pageTableView + 0x1234_5000, cap, 1), .badAddress)
    expect("map unaligned", call(.map, scratch + 8, cap, 1), .badAddress)
    expect("map_table in the kernel half", call(.mapTable, 0xffff_8000_0000_0000, 3, cap), .badAddress)
    expect("map_table non-canonical", call(.mapTable, 0x0000_8000_0000_0000, 3, cap), .badAddress)
    expect("map_table in the page-table view", call(.mapTable, UserSpace.pageTableView, 1, cap), .badAddress)
    expect("unmap in the page-table view", call(.unmap, UserSpace.pageTableView, 1), .badAddress)
    expect("protect the page-table view writable", call(.protect, UserSpace.pageTableView, 1, 1), .badAddress)
    expect("unmap in the kernel half", call(.unmap, 0xffff_ffff_8000_0000, 1), .badAddress)
    expect("protect in the kernel half", call(.protect, 0xffff_ffff_8000_0000, 1, 1), .badAddress)
    expect("unmap wrapping past the top", call(.unmap, UserSpace.top - page, 2), .badAddress)
  }

  /// The edges of the kernel's map fast path (trap.S's map_fast), which
  /// must accept only what the Swift path would and leave every refusal to
  /// it: the frame table's ends, the user half's ends, the page-table
  /// view's ends, and the leaf bits it writes for each of the four rights.
  static func fastMapEdges(_ other: FrameCapability) {
    let pastTable = FrameCapability(frame: Frame(number: 262_144), generation: 0)
    let lastInTable = FrameCapability(frame: Frame(number: 262_143), generation: 0)
    expect("map of the first frame past the frame table", call(.map, target, pastTable.raw, 1), .badCapability)
    expect("map of the table's last frame, never handed out", call(.map, target, lastInTable.raw, 1), .badCapability)
    expect("map with the capability's generation bits in the frame", call(.map, target, other.raw | 1 << 63, 1), .badCapability)
    expect("map just below UserSpace.lowest", call(.map, UserSpace.lowest - page, other.raw, 1), .badAddress)
    // map_fast and protect_fast check alignment and both bounds in one
    // compare of the address less UserSpace.lowest rotated by 12: each edge
    // where an offset bit could hide a bad page.
    expect("map unaligned just below UserSpace.lowest", call(.map, UserSpace.lowest - 8, other.raw, 1), .badAddress)
    expect("map unaligned just above UserSpace.lowest", call(.map, UserSpace.lowest + 8, other.raw, 1), .badAddress)
    expect("map unaligned in the last user page", call(.map, UserSpace.top - page + 8, other.raw, 1), .badAddress)
    expect("map with only the page offset's top bit", call(.map, UserSpace.top - page + 0x800, other.raw, 1), .badAddress)
    expect("map unaligned just past the user half", call(.map, UserSpace.top + 8, other.raw, 1), .badAddress)
    expect("protect unaligned in the last user page", call(.protect, UserSpace.top - page + 8, 1, 1), .badAddress)
    expect("protect just below UserSpace.lowest", call(.protect, UserSpace.lowest - page, 1, 1), .badAddress)
    expect("map non-canonical with bit 47 clear", call(.map, 0xffff_0000_0000_0000, other.raw, 1), .badAddress)
    expect("map at the last page of the view", call(.map, UserSpace.pageTableViewEnd - page, other.raw, 1), .badAddress)
    // The stack's tables cover the user half's last page.
    expectSuccess("map at the last user page", call(.map, UserSpace.top - page, other.raw, 1))
    expectSuccess("unmap of the last user page", call(.unmap, UserSpace.top - page, 1))
    expect("map just past the view (no tables there)", call(.map, UserSpace.pageTableViewEnd, other.raw, 1), .needTable)
    // protect_fast takes one page of the caller's own; the kernel's time
    // page, mapped read-only into every env, must stay read-only.
    expect("protect of the kernel's time page writable", call(.protect, TimePage.address, 1, 1), .badCapability)
    check("the time page is still read-only",
      exo_load64(PageTableView.entryAddress(of: TimePage.address, level: 1)) & PageTableView.writable == 0)
    expect("protect of a page with no table", call(.protect, 0x3600_0000_0000, 1, 1), .notMapped)
    expect("protect unaligned", call(.protect, scratch + 8, 1, 1), .badAddress)
    expect("protect non-canonical", call(.protect, 0x0000_8000_0000_0000, 1, 1), .badAddress)
    expect("protect with rights bit 63", call(.protect, scratch, 1, 1 << 63), .badArgument)
    let bits = PageTableView.present | PageTableView.user | PageTableView.writable | PageTableView.noExecute
    let wanted: [(StaticString, UInt64, UInt64)] = [
      ("read-only", 0, PageTableView.present | PageTableView.user | PageTableView.noExecute),
      ("writable", 1, PageTableView.present | PageTableView.user | PageTableView.writable | PageTableView.noExecute),
      ("executable", 2, PageTableView.present | PageTableView.user),
      ("writable and executable", 3, PageTableView.present | PageTableView.user | PageTableView.writable),
    ]
    for (name, rights, entry) in wanted {
      let r = call(.map, target, other.raw, rights)
      let pte = exo_load64(PageTableView.entryAddress(of: target, level: 1))
      checked += 1
      if r.status == 0 && pte & bits == entry && PageTableView.frameNumber(ofEntry: pte) == other.frame.number {
        print("holds: map \(name.description): the leaf has those rights and that frame")
      } else {
        mismatches += 1
        print("WRONG \(name.description) map: status \(r.status), entry \(pte)")
      }
      // protect_fast rewrites the leaf the same way, from any rights to these.
      let p = call(.protect, target, 1, rights ^ 1)
      let q = call(.protect, target, 1, rights)
      let again = exo_load64(PageTableView.entryAddress(of: target, level: 1))
      checked += 1
      if p.status == 0 && q.status == 0 && again & bits == entry
        && PageTableView.frameNumber(ofEntry: again) == other.frame.number
      {
        print("holds: protect \(name.description): the same leaf")
      } else {
        mismatches += 1
        print("WRONG \(name.description) protect: status \(p.status) \(q.status), entry \(again)")
      }
      if r.status == 0 { _ = call(.unmap, target, 1) }
    }
  }

  static func framesInUse(_ real: FrameCapability, _ other: FrameCapability) {
    exo_store64(scratch, 0x5a5a)
    check("the frame it mapped reads back what it wrote", exo_load64(scratch) == 0x5a5a)
    let pte = exo_load64(PageTableView.entryAddress(of: scratch, level: 1))
    check("the view shows the written page dirty", pte & PageTableView.dirty != 0)
    expect("frame_free of a mapped frame", call(.frameFree, real.raw), .frameInUse)
    expect("map over a mapped page", call(.map, scratch, other.raw, 1), .alreadyMapped)
    expect("map over its own stack", call(.map, UserSpace.stackTop - page, other.raw, 1), .alreadyMapped)
    expect("map_table where a table is", call(.mapTable, scratch, 1, other.raw), .alreadyMapped)
  }

  static func badRightsAndLevels(_ other: FrameCapability) {
    let free = target
    expect("map with rights bit 2", call(.map, free, other.raw, 4), .badArgument)
    expect("map with rights 0xff", call(.map, free, other.raw, 0xff), .badArgument)
    expect("map with rights bit 63", call(.map, free, other.raw, 1 << 63), .badArgument)
    expect("protect with rights 8", call(.protect, scratch, 1, 8), .badArgument)
    expect("map_table level 0", call(.mapTable, bare, 0, other.raw), .badArgument)
    expect("map_table level 4", call(.mapTable, bare, 4, other.raw), .badArgument)
    expect("map_table level 99", call(.mapTable, bare, 99, other.raw), .badArgument)
    expect("map_table level -1", call(.mapTable, bare, UInt64.max, other.raw), .badArgument)
  }

  static func unmappedPages() {
    let free = scratch + 2 * page
    expect("unmap of an unmapped page", call(.unmap, free, 1), .notMapped)
    expect("protect of an unmapped page", call(.protect, free, 1, 0), .notMapped)
    expect("unmap of a mapped and an unmapped page", call(.unmap, scratch, 2), .notMapped)
    let pte = exo_load64(PageTableView.entryAddress(of: scratch, level: 1))
    check("the refused unmap changed nothing", pte & PageTableView.present != 0)
    expect("protect where a table is missing", call(.protect, 0x3500_0000_0000, 1, 0), .notMapped)
    expect("unmap of 0 pages", call(.unmap, scratch, 0), .badLength)
    expect("unmap of 513 pages", call(.unmap, scratch, 513), .badLength)
    expect("protect of 0 pages", call(.protect, scratch, 0, 0), .badLength)
    expect("protect of 513 pages", call(.protect, scratch, 513, 0), .badLength)
  }

  static func batches(_ other: FrameCapability) {
    expect("map_batch of 0 entries", call(.mapBatch, UserSpace.stackTop - page, 0), .badLength)
    expect("map_batch of 513 entries", call(.mapBatch, UserSpace.stackTop - page, 513), .badLength)
    expect("map_batch from the kernel half", call(.mapBatch, 0xffff_ffff_8000_0000, 1), .badAddress)
    expect("map_batch from null", call(.mapBatch, 0, 1), .badAddress)
    var entries = [
      MapBatchEntry(address: scratch + page, capability: other, rights: .readOnly),
      MapBatchEntry(address: 0xffff_8000_0000_0000, capability: other, rights: .readOnly),
    ]
    let r = entries.withUnsafeMutableBufferPointer { buffer in
      call(.mapBatch, UInt64(UInt(bitPattern: buffer.baseAddress)), 2)
    }
    expect("map_batch whose second entry is in the kernel half", r, .badAddress)
    check("map_batch reports the failing entry's index (1)", r.value == 1)
    expectSuccess("unmap of the page the batch mapped first", call(.unmap, scratch + page, 1))
    // need_table names the failing entry too (entry 1 lies where no table is).
    var needy = [
      MapBatchEntry(address: scratch + 2 * page, capability: other, rights: .readOnly),
      MapBatchEntry(address: bare, capability: other, rights: .readOnly),
    ]
    let n = needy.withUnsafeMutableBufferPointer { buffer in
      call(.mapBatch, UInt64(UInt(bitPattern: buffer.baseAddress)), 2)
    }
    expect("map_batch whose second entry has no table", n, .needTable)
    check("map_batch's need_table names the failing entry (1), not the level", n.value == 1)
    expect("map of that entry names the level (3)", call(.map, bare, other.raw, 0), .needTable)
    check("map's need_table names the missing level (3)", call(.map, bare, other.raw, 0).value == 3)
    expectSuccess("unmap of the page that batch mapped first", call(.unmap, scratch + 2 * page, 1))
    entries[0].rights = 4
    let bad = entries.withUnsafeMutableBufferPointer { buffer in
      call(.mapBatch, UInt64(UInt(bitPattern: buffer.baseAddress)), 1)
    }
    expect("map_batch with bad rights", bad, .badArgument)
  }

  static func exceptionHandlers() {
    let entry = exo_exception_entry_address()
    let stack = UserSpace.stackTop - 2 * page
    expect("set_exception_handler with an unmapped shared page",
      call(.setExceptionHandler, entry, stack, 0x3600_0000_0000), .notMapped)
    expect("set_exception_handler with a kernel-half shared page",
      call(.setExceptionHandler, entry, stack, 0xffff_8000_0000_0000), .badAddress)
    expect("set_exception_handler with an unaligned shared page",
      call(.setExceptionHandler, entry, stack, scratch + 8), .badAddress)
    expectOneOf("set_exception_handler with the read-only view as shared page",
      call(.setExceptionHandler, entry, stack, UserSpace.pageTableView), .badAddress, .notMapped)
    expect("set_exception_handler entering the kernel half",
      call(.setExceptionHandler, 0xffff_ffff_8000_0000, stack, scratch), .badAddress)
    expect("set_exception_handler with a non-canonical stack",
      call(.setExceptionHandler, entry, 0x0000_8000_0000_0000 + 0x1000, scratch), .badAddress)
    expect("set_exception_handler with an unaligned stack",
      call(.setExceptionHandler, entry, stack - 8, scratch), .badAddress)
  }

  /// Allocates until the kernel says the quota is reached, then gives all back.
  static func quota() {
    var held: [FrameCapability] = []
    var last = ExoError.unknownCall
    for _ in 0..<1024 {
      do {
        held.append(try Exo.frameAlloc())
      } catch {
        last = error
        break
      }
    }
    expect("frame_alloc past the quota", (last.rawValue, 0), .quotaExceeded)
    print("took \(held.count) frames before the quota")
    var failed = 0
    for frame in held where (try? Exo.frameFree(frame)) == nil { failed += 1 }
    check("every frame taken is given back", failed == 0)
    expectSuccess("frame_alloc under the quota again", call(.frameAlloc))
  }
}
