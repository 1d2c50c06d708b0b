// Boot tests of the memory work: demand paging under both replacement
// policies, the hostile badmem beside hello, unresolved faults reported by
// the libOS, and vmbench's JSON line. Built once, booted under TCG.
import ExoHost
import Foundation
import XCTest

final class MemoryBootTests: XCTestCase {
  private static let prepared: Result<BootBench, any Error> = Result {
    try BootBench.prepare(apps: ["hello", "pager-demo", "badmem", "vmbench"])
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

  private func prepared() throws -> BootBench { try BootBench.unwrap(Self.prepared) }

  private func boot(_ apps: String...) throws -> BootResult { try prepared().boot(apps) }
}
