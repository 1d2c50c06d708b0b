// Host tests of visible revocation's hardware-free parts: the repossession
// vector in the shared page, the deadline counted in turns, the allocation
// log, and the order forced repossession takes frames in, property style:
// no frame taken twice or from another env, never a page table or a pinned
// frame, grants last, and the free count back where it was.
import SecureBindings
import XCTest

final class RevocationTests: XCTestCase {
  func testVectorRecordsEachLossThenOverflows() {
    let page = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
    defer { page.deallocate() }
    page.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
    let vector = RepossessionVector(page: page)
    XCTAssertEqual(vector.count, 0)
    XCTAssertNil(vector[0])
    XCTAssertGreaterThanOrEqual(RevocationPage.entries, ExceptionSlot.size, "the vector must not overlap the exception slot")
    XCTAssertLessThanOrEqual(RevocationPage.entries + RevocationPage.capacity * RevocationPage.entrySize, 4096)
    for i in 0..<(RevocationPage.capacity + 3) {
      vector.append(Repossession(capability: FrameCapability(frame: Frame(number: UInt64(100 + i)), generation: 7), address: UInt64(i) << 12))
    }
    XCTAssertEqual(vector.count, UInt64(RevocationPage.capacity + 3))
    XCTAssertTrue(vector.overflowed)
    XCTAssertEqual(vector[5], Repossession(capability: FrameCapability(frame: Frame(number: 105), generation: 7), address: 5 << 12))
    XCTAssertNotNil(vector[RevocationPage.capacity - 1])
    XCTAssertNil(vector[RevocationPage.capacity], "entries past the capacity were dropped")
    XCTAssertNil(vector[-1])
    vector.publish(requested: 9, turnsLeft: 3)
    XCTAssertEqual(vector.requested, 9)
    XCTAssertEqual(page.load(fromByteOffset: RevocationPage.turnsLeft, as: UInt64.self), 3)
  }

  func testDeadlineCountsTurnsAndAShorterRequestWins() {
    var request = ReclaimRequest()
    XCTAssertFalse(request.turnStarted(), "nothing outstanding")
    request.start(turns: 3)
    XCTAssertFalse(request.turnStarted())
    XCTAssertFalse(request.turnStarted())
    XCTAssertTrue(request.turnStarted(), "the third turn is past the deadline")
    request.met()
    XCTAssertFalse(request.isActive)
    request.start(turns: 5)
    request.start(turns: 2)
    XCTAssertEqual(request.turnsLeft, 2)
    request.start(turns: 9)
    XCTAssertEqual(request.turnsLeft, 2, "a later, longer deadline does not extend the first")
    XCTAssertFalse(request.turnStarted())
    XCTAssertTrue(request.turnStarted())
  }

  func testAllocationLogIsNewestFirstAndBounded() {
    var log = AllocationLog()
    for n in 1...40 { log.note(Frame(number: UInt64(n))) }
    var seen: [UInt64] = []
    log.newestFirst { seen.append($0.number); return true }
    XCTAssertEqual(seen, Array((9...40).reversed()).map(UInt64.init))
    var first: [UInt64] = []
    log.newestFirst { first.append($0.number); return first.count < 3 }
    XCTAssertEqual(first, [40, 39, 38])
  }

  /// Random envs allocate, free, map, pin, make tables and grant; then one
  /// env is repossessed frame by frame in the kernel's order.
  func testForcedOrderPropertiesOverRandomTables() {
    let capacity = 512
    var owners = [UInt16](repeating: 0, count: capacity)
    var stack = [UInt32](repeating: 0, count: capacity)
    var generations = [UInt16](repeating: 0, count: capacity)
    var uses = [UInt32](repeating: 0, count: capacity)
    var slots = [Grant](repeating: Grant(frame: Frame(number: 0), owner: EnvID(1), grantee: EnvID(1), rights: .readOnly), count: 64)
    var used = [Bool](repeating: false, count: 64)
    for seed in 1...60 {
      var random = SplitMix64(seed: UInt64(seed))
      owners.withUnsafeMutableBufferPointer { o in
        stack.withUnsafeMutableBufferPointer { s in
          generations.withUnsafeMutableBufferPointer { g in
            uses.withUnsafeMutableBufferPointer { u in
              slots.withUnsafeMutableBufferPointer { gs in
                used.withUnsafeMutableBufferPointer { gu in
                  u.update(repeating: 0)
                  o.update(repeating: 0)
                  var table = FrameTable(owners: o, freeStack: s)
                  table.addAvailable(first: 16, count: UInt64(capacity - 16))
                  table.seal()
                  var bindings = FrameBindings(generations: g, uses: u)
                  var grants = GrantTable(slots: gs, used: gu)
                  runOneSeed(&random, seed, &table, &bindings, &grants)
                }
              }
            }
          }
        }
      }
    }
  }

  private func runOneSeed(
    _ random: inout SplitMix64, _ seed: Int, _ table: inout FrameTable, _ bindings: inout FrameBindings,
    _ grants: inout GrantTable
  ) {
    let victim = EnvID(1)
    var logs = [AllocationLog(), AllocationLog(), AllocationLog()]
    var held: [[Frame]] = [[], [], []]
    var allocations: [Frame] = []  // every allocation of the victim, oldest first
    for _ in 0..<300 {
      let e = random.below(3)
      let env = EnvID(UInt16(e + 1))
      if random.chance(70) || held[e].isEmpty {
        guard let frame = table.allocate(for: .env(env)) else { continue }
        _ = bindings.claim(frame)
        logs[e].note(frame)
        held[e].append(frame)
        if e == 0 { allocations.append(frame) }
        switch random.below(10) {
        case 0: bindings.markPageTable(frame)
        case 1: bindings.pin(frame)
        case 2, 3: bindings.noteMapped(frame)
        case 4: _ = try? grants.add(Grant(frame: frame, owner: env, grantee: EnvID(2), rights: .readOnly, mappedAt: random.chance(50) ? 0x1000 : 0))
        default: break
        }
      } else {
        let i = random.below(held[e].count)
        let frame = held[e][i]
        guard bindings.isIdle(frame), !grants.hasGrants(of: frame) else { continue }
        try? table.free(frame, by: .env(env))
        held[e].remove(at: i)
      }
    }
    let freeBefore = table.freeCount
    let othersBefore = [table.count(of: .env(EnvID(2))), table.count(of: .env(EnvID(3)))]
    let eligible = held[0].filter { !bindings.isPageTable($0) && !bindings.isPinned($0) }
    var taken: [Frame] = []
    var lastTier = -1
    while let frame = RepossessionOrder.next(of: victim, log: logs[0], table: table, bindings: bindings, grants: grants) {
      XCTAssertEqual(table.owner(of: frame), .env(victim), "seed \(seed)")
      XCTAssertFalse(bindings.isPageTable(frame), "seed \(seed): a page table was chosen")
      XCTAssertFalse(bindings.isPinned(frame), "seed \(seed): a pinned frame was chosen")
      XCTAssertFalse(taken.contains(frame), "seed \(seed): chosen twice")
      let tier = RepossessionOrder.tier(frame, of: victim, table: table, bindings: bindings, grants: grants)!.rawValue
      XCTAssertGreaterThanOrEqual(tier, lastTier, "seed \(seed): a less shared frame was left for later")
      // Among the last 32 allocations, the newest that may be taken in
      // this tier goes first; only when none is left does the scan look further.
      let recent = allocations.suffix(AllocationLog.capacity).reversed().first {
        RepossessionOrder.tier($0, of: victim, table: table, bindings: bindings, grants: grants)?.rawValue == tier
      }
      if let recent { XCTAssertEqual(frame, recent, "seed \(seed): the newest recent frame of its tier first") }
      lastTier = tier
      var indices: [Int] = []
      grants.forEach(of: frame) { i, _ in indices.append(i) }
      for i in indices { grants.remove(i) }
      while bindings.mappings(of: frame) > 0 { bindings.noteUnmapped(frame) }
      XCTAssertNoThrow(try table.free(frame, by: .env(victim)), "seed \(seed)")
      taken.append(frame)
    }
    XCTAssertEqual(Set(taken.map(\.number)), Set(eligible.map(\.number)), "seed \(seed): every eligible frame, nothing else")
    XCTAssertEqual(table.freeCount, freeBefore + taken.count, "seed \(seed): the free count returns")
    XCTAssertEqual([table.count(of: .env(EnvID(2))), table.count(of: .env(EnvID(3)))], othersBefore, "seed \(seed)")
  }
}
