// Host tests of the memory bindings: frame capabilities and their
// generations, page rights, what may be mapped where, and the per-frame
// use records the kernel checks before it writes a page-table entry.
import SecureBindings
import XCTest

final class BindingTests: XCTestCase {
  private var owners = [UInt16](repeating: 0, count: 64)
  private var stack = [UInt32](repeating: 0, count: 64)
  private var generations = [UInt16](repeating: 0, count: 64)
  private var uses = [UInt32](repeating: 0, count: 64)

  /// Runs `body` with a sealed 64-frame table (frames 8..<64 free) and empty bindings.
  private func withTables(_ body: (inout FrameTable, inout FrameBindings) throws -> Void) rethrows {
    try owners.withUnsafeMutableBufferPointer { o in
      try stack.withUnsafeMutableBufferPointer { s in
        try generations.withUnsafeMutableBufferPointer { g in
          try uses.withUnsafeMutableBufferPointer { u in
            var table = FrameTable(owners: o, freeStack: s)
            table.addAvailable(first: 8, count: 56)
            table.seal()
            var bindings = FrameBindings(generations: g, uses: u)
            try body(&table, &bindings)
          }
        }
      }
    }
  }

  func testCapabilityRoundTripsThroughItsABIWord() {
    let capability = FrameCapability(frame: Frame(number: 0x12345), generation: 0xbeef)
    XCTAssertEqual(capability.raw, 0x12345 << 16 | 0xbeef)
    XCTAssertEqual(FrameCapability(raw: capability.raw), capability)
  }

  func testOnlyTheOwnerWithTheCurrentGenerationPassesTheCheck() throws {
    try withTables { table, bindings in
      let a = EnvID(1)
      let b = EnvID(2)
      let frame = try XCTUnwrap(table.allocate(for: .env(a)))
      let capability = bindings.claim(frame)
      XCTAssertEqual(try bindings.check(capability, heldBy: a, in: table), frame)
      XCTAssertThrowsError(try bindings.check(capability, heldBy: b, in: table)) {
        XCTAssertEqual($0 as? ExoError, .badCapability)
      }
      let forgedGeneration = FrameCapability(frame: frame, generation: capability.generation &+ 1)
      XCTAssertThrowsError(try bindings.check(forgedGeneration, heldBy: a, in: table))
      let outOfRange = FrameCapability(frame: Frame(number: 1 << 30), generation: 0)
      XCTAssertThrowsError(try bindings.check(outOfRange, heldBy: a, in: table))
      let freeFrame = FrameCapability(frame: Frame(number: 63), generation: 0)
      XCTAssertThrowsError(try bindings.check(freeFrame, heldBy: a, in: table))
    }
  }

  /// A capability kept past frame_free names nothing once the frame is handed out again, even to the same env.
  func testReuseMakesOldCapabilitiesStale() throws {
    try withTables { table, bindings in
      let env = EnvID(3)
      let frame = try XCTUnwrap(table.allocate(for: .env(env)))
      let old = bindings.claim(frame)
      try table.free(frame, by: .env(env))
      let again = try XCTUnwrap(table.allocate(for: .env(env)))
      XCTAssertEqual(again, frame, "the free stack hands the same frame back")
      let new = bindings.claim(again)
      XCTAssertNotEqual(old, new)
      XCTAssertThrowsError(try bindings.check(old, heldBy: env, in: table))
      XCTAssertEqual(try bindings.check(new, heldBy: env, in: table), frame)
    }
  }

  func testUseRecordsGateFreeingMappingAndTables() throws {
    try withTables { table, bindings in
      let frame = try XCTUnwrap(table.allocate(for: .env(EnvID(1))))
      _ = bindings.claim(frame)
      XCTAssertTrue(bindings.isIdle(frame))
      bindings.noteMapped(frame)
      bindings.noteMapped(frame)
      XCTAssertEqual(bindings.mappings(of: frame), 2)
      XCTAssertFalse(bindings.isIdle(frame))
      bindings.noteUnmapped(frame)
      bindings.noteUnmapped(frame)
      bindings.noteUnmapped(frame)  // never below zero
      XCTAssertEqual(bindings.mappings(of: frame), 0)
      XCTAssertTrue(bindings.isIdle(frame))
      bindings.markPageTable(frame)
      XCTAssertTrue(bindings.isPageTable(frame))
      XCTAssertFalse(bindings.canMap(frame), "a page table must never be mapped as data")
      XCTAssertFalse(bindings.isIdle(frame))
      let shared = try XCTUnwrap(table.allocate(for: .env(EnvID(1))))
      _ = bindings.claim(shared)
      bindings.pin(shared)
      XCTAssertFalse(bindings.isIdle(shared))
      XCTAssertTrue(bindings.canMap(shared))
      bindings.unpin(shared)
      XCTAssertTrue(bindings.isIdle(shared))
      bindings.unpin(shared)  // unmatched: changes nothing
      XCTAssertTrue(bindings.isIdle(shared))
      XCTAssertEqual(bindings.pins(of: shared), 0)
      // Pins count: a frame in several sends at once stays pinned until the last is done.
      for _ in 0..<3 { bindings.pin(shared) }
      bindings.noteMapped(shared)
      XCTAssertEqual(bindings.pins(of: shared), 3)
      XCTAssertEqual(bindings.mappings(of: shared), 1, "pins and mappings are counted apart")
      bindings.unpin(shared)
      bindings.unpin(shared)
      XCTAssertTrue(bindings.isPinned(shared))
      bindings.unpin(shared)
      XCTAssertFalse(bindings.isPinned(shared))
      bindings.noteUnmapped(shared)
      XCTAssertTrue(bindings.isIdle(shared))
      for _ in 0..<(FrameBindings.maxPins + 5) { bindings.pin(shared) }
      XCTAssertEqual(bindings.pins(of: shared), FrameBindings.maxPins, "saturates, never spills into the map count")
      XCTAssertEqual(bindings.mappings(of: shared), 0)
      // Claiming again (the frame handed out anew) clears every use.
      _ = bindings.claim(frame)
      XCTAssertTrue(bindings.isIdle(frame))
    }
  }

  func testPageRightsRefuseUndefinedBits() throws {
    XCTAssertTrue(try PageRights(raw: 1).writable)
    XCTAssertTrue(try PageRights(raw: 2).executable)
    XCTAssertFalse(try PageRights(raw: 0).writable)
    for raw: UInt64 in [4, 8, 0x80, 1 << 63, UInt64.max] {
      XCTAssertThrowsError(try PageRights(raw: raw)) { XCTAssertEqual($0 as? ExoError, .badArgument) }
    }
  }

  func testMappableAddresses() {
    XCTAssertTrue(UserSpace.isMappable(0x40_0000))
    XCTAssertTrue(UserSpace.isMappable(UserSpace.top - 4096))
    XCTAssertTrue(UserSpace.isMappable(UserSpace.pageTableView - 4096))
    XCTAssertTrue(UserSpace.isMappable(UserSpace.pageTableViewEnd))
    for bad: UInt64 in [
      0, 0x1000, UserSpace.lowest - 4096, 0x40_0001, UserSpace.top, 0xffff_8000_0000_0000,
      0xffff_ffff_8010_0000, UserSpace.pageTableView, UserSpace.pageTableViewEnd - 4096,
    ] {
      XCTAssertFalse(UserSpace.isMappable(bad), String(bad, radix: 16))
    }
    XCTAssertEqual(UserSpace.pageTableView, 0x7f00_0000_0000)
    XCTAssertLessThan(UserSpace.imageLimit, UserSpace.pageTableView, "images must not reach the page-table view")
    XCTAssertGreaterThan(UserSpace.stackTop, UserSpace.pageTableViewEnd, "the stack must not sit in the view")
  }

  func testExceptionSlotLayoutFitsBeforeTheFPUArea() {
    XCTAssertEqual(
      ExceptionSlot.generalRegisters + ExceptionSlot.generalRegisterCount * 8, 176)
    XCTAssertLessThanOrEqual(176, ExceptionSlot.fpuArea)
    XCTAssertEqual(ExceptionSlot.fpuArea % 16, 0, "FXSAVE needs 16-byte alignment")
    XCTAssertLessThanOrEqual(ExceptionSlot.fpuArea + 512, ExceptionSlot.size)
  }
}

final class GrantTableTests: XCTestCase {
  private func withTable(capacity: Int, _ body: (inout GrantTable) throws -> Void) rethrows {
    var slots = [Grant](
      repeating: Grant(frame: Frame(number: 0), owner: EnvID(0), grantee: EnvID(0), rights: .readOnly),
      count: capacity)
    var used = [Bool](repeating: true, count: capacity)  // junk: init must clear it
    try slots.withUnsafeMutableBufferPointer { s in
      try used.withUnsafeMutableBufferPointer { u in
        var table = GrantTable(slots: s, used: u)
        try body(&table)
      }
    }
  }

  func testAddFindRemove() throws {
    try withTable(capacity: 4) { table in
      XCTAssertEqual(table.count, 0)
      let grant = Grant(frame: Frame(number: 10), owner: EnvID(1), grantee: EnvID(2), rights: .write)
      let slot = try table.add(grant)
      XCTAssertEqual(table.find(frame: Frame(number: 10), grantee: EnvID(2)), slot)
      XCTAssertNil(table.find(frame: Frame(number: 10), grantee: EnvID(3)))
      XCTAssertNil(table.find(frame: Frame(number: 11), grantee: EnvID(2)))
      XCTAssertTrue(table.hasGrants(of: Frame(number: 10)))
      XCTAssertThrowsError(try table.add(grant)) { XCTAssertEqual($0 as? ExoError, .alreadyMapped) }
      table[slot].mappedAt = 0x40_0000
      XCTAssertEqual(table[slot].mappedAt, 0x40_0000)
      table.remove(slot)
      table.remove(slot)  // twice is harmless
      XCTAssertEqual(table.count, 0)
      XCTAssertFalse(table.hasGrants(of: Frame(number: 10)))
    }
  }

  func testTheTableIsBounded() throws {
    try withTable(capacity: 3) { table in
      for grantee: UInt16 in 2...4 {
        _ = try table.add(Grant(frame: Frame(number: 9), owner: EnvID(1), grantee: EnvID(grantee), rights: .readOnly))
      }
      XCTAssertThrowsError(
        try table.add(Grant(frame: Frame(number: 9), owner: EnvID(1), grantee: EnvID(5), rights: .readOnly))
      ) { XCTAssertEqual($0 as? ExoError, .tableFull) }
      table.remove(1)
      XCTAssertNoThrow(
        try table.add(Grant(frame: Frame(number: 9), owner: EnvID(1), grantee: EnvID(5), rights: .readOnly)))
    }
  }

  func testForEachVisitsGrantsMadeAndReceived() throws {
    try withTable(capacity: 8) { table in
      _ = try table.add(Grant(frame: Frame(number: 1), owner: EnvID(1), grantee: EnvID(2), rights: .write))
      _ = try table.add(Grant(frame: Frame(number: 2), owner: EnvID(2), grantee: EnvID(1), rights: .readOnly))
      _ = try table.add(Grant(frame: Frame(number: 3), owner: EnvID(3), grantee: EnvID(4), rights: .readOnly))
      var seen: [UInt64] = []
      table.forEach(involving: EnvID(1)) { _, grant in seen.append(grant.frame.number) }
      XCTAssertEqual(seen.sorted(), [1, 2])
    }
  }

  func testRightsSubsets() throws {
    let all = PageRights.from(writable: true, executable: true)
    XCTAssertTrue(PageRights.readOnly.isSubset(of: .write))
    XCTAssertTrue(PageRights.write.isSubset(of: all))
    XCTAssertFalse(PageRights.write.isSubset(of: .readOnly))
    XCTAssertFalse(all.isSubset(of: .execute))
  }
}
