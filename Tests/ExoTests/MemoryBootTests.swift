// Boot tests of the memory work: demand paging under both replacement
// policies, the hostile badmem beside hello, a read-only grant between two
// badmem envs, unresolved faults reported by the libOS, vmbench's JSON
// line, and the heap growing onto pages it maps.
// Built once, booted under TCG.
import ExoHost
import Foundation
import XCTest

final class MemoryBootTests: XCTestCase {
  private static let prepared: Result<BootBench, any Error> = Result {
    try BootBench.prepare(apps: ["hello", "pager-demo", "badmem", "vmbench", "heap"])
  }

  func testPagerDemoVerifiesEveryByteUnderFIFO() throws {
    try pagerDemo("fifo")
  }

  func testPagerDemoVerifiesEveryByteUnderClock() throws {
    try pagerDemo("clock")
  }

  private func pagerDemo(_ policy: String) throws {
    let result = try boot("pager-demo:\(policy)")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertTrue(result.lines.contains("[pager-demo:1] pager-demo: all 262144 bytes verified"), log)
    XCTAssertTrue(result.lines.contains { $0.hasPrefix("[pager-demo:1] pager-demo: \(policy): ") }, log)
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0)], log)
    XCTAssertEqual(result.verdict.framesFreeAtEnd, result.verdict.framesFreeAtBoot, "frames leaked\n\(log)")
  }

  /// Faults the pager must refuse end the app through the libOS's report,
  /// not the kernel's kill, and leave the env beside it alone.
  func testUnresolvedFaultsAreReportedByTheLibOS() throws {
    let result = try boot("pager-demo:stray", "pager-demo:readonly", "hello")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    for id in 1...2 {
      XCTAssertTrue(
        result.lines.contains { $0.hasPrefix("[pager-demo:\(id)] unresolved #PF at rip 0x") }, "env \(id)\n\(log)")
    }
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 142), .exited(status: 142), .exited(status: 0)], log)
    XCTAssertFalse(result.lines.contains { $0.contains("still alive") }, log)
    XCTAssertEqual(result.verdict.framesFreeAtEnd, result.verdict.framesFreeAtBoot, "frames leaked\n\(log)")
  }

  func testEveryBadMemoryCallIsRefusedAndHelloRuns() throws {
    let result = try boot("badmem", "hello")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertTrue(
      result.lines.contains {
        $0.hasPrefix("[badmem:1] all ") && $0.hasSuffix(" memory checks answered correctly; the kernel is alive")
      }, log)
    XCTAssertFalse(result.lines.contains { $0.contains("WRONG") }, log)
    XCTAssertGreaterThan(result.lines.filter { $0.hasPrefix("[badmem:1] refused ") }.count, 50, log)
    XCTAssertTrue(result.lines.contains("[hello:2] Hello from the exokernel! I am env 2."), log)
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0), .exited(status: 0)], log)
    let atBoot = try XCTUnwrap(result.verdict.framesFreeAtBoot, log)
    XCTAssertEqual(result.verdict.framesFreeAtEnd, atBoot, "frames leaked\n\(log)")
  }

  /// A frame granted read-only: the grantee (which waits for the
  /// capability in event_wait while the grant is made) is refused write and
  /// execute through map and protect, a second mapping and a free, and reads
  /// the granter's bytes through a read-only mapping; the granter revokes
  /// and frees it. The kernel's fast paths never take a grant: these are the
  /// Swift path's checks.
  func testAReadOnlyGrantIsNeverWritableByTheGrantee() throws {
    let result = try boot("badmem:granter", "badmem:grantee")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertFalse(result.lines.contains { $0.contains("WRONG") }, log)
    XCTAssertTrue(result.lines.contains("[badmem:2] grantee: all 12 grant checks answered correctly"), log)
    XCTAssertTrue(result.lines.contains("[badmem:1] granter: all 6 grant checks answered correctly"), log)
    XCTAssertTrue(result.lines.contains("[badmem:2] refused map of a read-only grant writable: bad_capability"), log)
    XCTAssertTrue(result.lines.contains("[badmem:2] refused protect of the granted page writable: bad_capability"), log)
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0), .exited(status: 0)], log)
    XCTAssertEqual(result.verdict.framesFreeAtEnd, result.verdict.framesFreeAtBoot, "frames leaked\n\(log)")
  }

  func testVMBenchPrintsOneJSONLineWithEveryMetric() throws {
    let result = try boot("vmbench")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0)], log)
    let json = try XCTUnwrap(BootBench.jsonLine(of: "vmbench", in: result.lines), "no JSON line\n\(log)")
    let object = try XCTUnwrap(
      try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
    XCTAssertEqual(object["bench"] as? String, "vmbench")
    XCTAssertEqual(object["accel"] as? String, "tcg")
    XCTAssertEqual(object["unit"] as? String, "cycles")
    let results = try XCTUnwrap(object["results"] as? [String: Any], json)
    for metric in [
      "dirty", "prot1", "prot100", "unprot100", "trap", "appel1", "appel2", "fault", "map", "map_batch100",
    ] {
      let figures = try XCTUnwrap(results[metric] as? [String: Any], "\(metric) missing\n\(json)")
      XCTAssertNotNil(figures["median"] as? Int, "\(metric)\n\(json)")
      XCTAssertNotNil(figures["p99"] as? Int, "\(metric)\n\(json)")
    }
  }

  /// Several MiB of Swift arrays live on pages the heap mapped from the
  /// env's quota; a second round reuses them, and exit returns every frame.
  func testHeapGrowsOntoPagesItMapsAndKeepsThemForReuse() throws {
    let result = try boot("heap")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0)], log)
    XCTAssertTrue(
      result.lines.contains("[heap:1] heap: 6891456 bytes in 2 large and 2000 small arrays, every byte verified"), log)
    let prefix = "[heap:1] heap: size "
    let sizeLine = try XCTUnwrap(result.lines.first { $0.hasPrefix(prefix) }, log)
    // "size K KiB: the 64 KiB first arena and P pages mapped, T page-table frames"
    let numbers = sizeLine.dropFirst(prefix.count).split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
    XCTAssertEqual(numbers.count, 4, sizeLine)
    if numbers.count == 4 {
      let (kib, arena, pages, tables) = (numbers[0], numbers[1], numbers[2], numbers[3])
      XCTAssertEqual(arena, 64, sizeLine)
      XCTAssertEqual(kib, arena + pages * 4, sizeLine)
      XCTAssertGreaterThanOrEqual(pages * 4096, 6_891_456 - 64 * 1024, "the arrays need that many pages\n\(sizeLine)")
      XCTAssertLessThan(pages, 2048, "more pages than the arrays need\n\(sizeLine)")
      XCTAssertGreaterThanOrEqual(tables, 3, "a PDPT, a directory and page tables\n\(sizeLine)")
    }
    XCTAssertTrue(
      result.lines.contains("[heap:1] heap: second round verified with 0 new frames: freed blocks kept theirs"), log)
    XCTAssertEqual(result.verdict.framesFreeAtEnd, result.verdict.framesFreeAtBoot, "frames leaked\n\(log)")
  }

  /// Allocating past the quota fails cleanly: the allocation answers ENOMEM,
  /// Embedded Swift stops the app with #UD, and the env beside it runs on.
  func testHeapExhaustionStopsOnlyThatApp() throws {
    let result = try boot("heap:exhaust", "hello")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertEqual(result.verdict.envs.map { $0.end?.vector }, [6, nil], log)
    XCTAssertEqual(result.verdict.envs.last?.end, .exited(status: 0), log)
    let held = result.lines.filter { $0.hasPrefix("[heap:1] heap: holding ") }
    // 12 MiB of quota, less the image, its tables and the heap's own.
    XCTAssertGreaterThanOrEqual(held.count, 10, log)
    XCTAssertLessThan(held.count, 12, log)
    XCTAssertTrue(result.lines.contains("[hello:2] Hello from the exokernel! I am env 2."), log)
    XCTAssertEqual(result.verdict.framesFreeAtEnd, result.verdict.framesFreeAtBoot, "frames leaked\n\(log)")
  }

  private func prepared() throws -> BootBench { try BootBench.unwrap(Self.prepared) }

  private func boot(_ apps: String...) throws -> BootResult { try prepared().boot(apps) }
}
