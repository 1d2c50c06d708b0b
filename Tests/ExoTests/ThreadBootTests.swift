// Boot tests of the libOS threads: the threads app's checked result under
// both schedulers, with and without preemption at slice starts (threads
// that never yield must still all finish), cpubench's JSON line, and two share envs side by side
// with different thread schedulers. Built once, booted under TCG; no
// assertion depends on timing.
import ExoHost
import Foundation
import XCTest

final class ThreadBootTests: XCTestCase {
  private static let prepared: Result<BootBench, any Error> = Result {
    try BootBench.prepare(apps: ["threads", "share", "cpubench", "hello"])
  }

  func testThreadsPrintsItsChecksumUnderRoundRobin() throws {
    try threads("threads", scheduler: "rr")
  }

  func testThreadsPrintsTheSameChecksumUnderStride() throws {
    try threads("threads:stride", scheduler: "stride")
  }

  /// Preempted at every slice: the same checksum (the thread library's
  /// critical sections hold), and spinners that never yield and can only
  /// pass their spin barriers if each is preempted all finish, their
  /// checked-arithmetic sum exact.
  func testPreemptedThreadsThatNeverYieldAllFinish() throws {
    for app in ["threads:rr-preempt", "threads:stride-preempt"] {
      let result = try prepared().boot([app, "hello"])
      let log = result.lines.joined(separator: "\n")
      XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
      XCTAssertTrue(result.lines.contains("[threads:1] threads: checksum 15126145 ok"), "\(app)\n\(log)")
      XCTAssertTrue(result.lines.contains("[threads:1] threads: 4 spinners x 6 phases sum 57575700 ok"), "\(app)\n\(log)")
      XCTAssertFalse(result.lines.contains { $0.contains("WRONG") || $0.contains("deadlock") || $0.contains("unresolved") }, log)
      XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0), .exited(status: 0)], log)
      XCTAssertEqual(result.verdict.framesFreeAtEnd, result.verdict.framesFreeAtBoot, "frames leaked\n\(log)")
    }
  }

  private func threads(_ app: String, scheduler: String) throws {
    let result = try boot(app, "hello")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertTrue(result.lines.contains("[threads:1] threads: checksum 15126145 ok"), "\(scheduler)\n\(log)")
    XCTAssertFalse(result.lines.contains { $0.contains("WRONG") || $0.contains("deadlock") }, log)
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0), .exited(status: 0)], log)
    XCTAssertEqual(result.verdict.framesFreeAtEnd, result.verdict.framesFreeAtBoot, "frames leaked\n\(log)")
  }

  func testCPUBenchPrintsOneJSONLineWithEveryMetric() throws {
    let result = try boot("cpubench")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0)], log)
    let json = try XCTUnwrap(BootBench.jsonLine(of: "cpubench", in: result.lines), "no JSON line\n\(log)")
    let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
    XCTAssertEqual(object["bench"] as? String, "cpubench")
    XCTAssertEqual(object["accel"] as? String, "tcg")
    XCTAssertEqual(object["unit"] as? String, "cycles")
    let results = try XCTUnwrap(object["results"] as? [String: Any], json)
    for metric in ["null_call", "thread_switch", "thread_switch_stride", "event_latency"] {
      let figures = try XCTUnwrap(results[metric] as? [String: Any], "\(metric) missing\n\(json)")
      XCTAssertNotNil(figures["median"] as? Int, "\(metric)\n\(json)")
      XCTAssertNotNil(figures["p99"] as? Int, "\(metric)\n\(json)")
    }
  }

  /// Two envs, one per thread scheduler: both count work and exit. Inside
  /// the stride env the three threads' counts follow their tickets 1:2:3 to
  /// within a unit or two (each thread stops at its first turn after the
  /// span), whatever the CPU gave the env.
  func testShareRunsUnderBothSchedulersSideBySide() throws {
    let result = try boot("share:rr-40", "share:stride-40")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0), .exited(status: 0)], log)
    for (id, name) in [(1, "rr"), (2, "stride")] {
      let prefix = "[share:\(id)] share: \(name) work "
      let line = try XCTUnwrap(result.lines.first { $0.hasPrefix(prefix) }, log)
      let work = try XCTUnwrap(Int(line.dropFirst(prefix.count)), line)
      XCTAssertGreaterThan(work, 0, line)
    }
    let split = "[share:2] share: stride tickets 1 2 3 work "
    let line = try XCTUnwrap(result.lines.first { $0.hasPrefix(split) }, log)
    let counts = line.dropFirst(split.count).split(separator: " ").prefix(3).compactMap { Int($0) }
    XCTAssertEqual(counts.count, 3, line)
    if counts.count == 3 {
      XCTAssertLessThanOrEqual(abs(counts[1] - 2 * counts[0]), 3, line)
      XCTAssertLessThanOrEqual(abs(counts[2] - 3 * counts[0]), 4, line)
    }
    XCTAssertEqual(result.verdict.framesFreeAtEnd, result.verdict.framesFreeAtBoot, "frames leaked\n\(log)")
  }

  /// Two envs with 1 and 3 slices a turn, counting work over the same TSC
  /// window: under -icount a slice is an exact instruction budget, so the
  /// kernel's 1:3 split shows in the counts within 2 %.
  func testSliceAllowancesSplitTheCPUUnderIcount() throws {
    let result = try prepared().boot(["share:rr-40@1", "share:rr-40@3"], accel: .icount)
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    func work(_ env: String) throws -> Double {
      let line = try XCTUnwrap(result.lines.first { $0.hasPrefix("[\(env)] share: rr work ") }, log)
      return try XCTUnwrap(Double(line.split(separator: " ").last ?? ""), line)
    }
    let ratio = try work("share:2") / work("share:1")
    XCTAssertEqual(ratio, 3, accuracy: 0.06, "work ratio \(ratio), slices 1:3\n\(log)")
  }

  private func prepared() throws -> BootBench { try BootBench.unwrap(Self.prepared) }

  private func boot(_ apps: String...) throws -> BootResult { try prepared().boot(apps) }
}
