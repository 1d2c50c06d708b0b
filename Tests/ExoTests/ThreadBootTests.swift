// Boot tests of the libOS threads: the threads app's checked result under
// both schedulers, cpubench's JSON line, and two share envs side by side
// with different thread schedulers. Built once, booted under TCG; no
// assertion depends on timing.
import ExoHost
import Foundation
import XCTest

final class ThreadBootTests: XCTestCase {
  private static let prepared: Result<ThreadBootBench, any Error> = Result {
    try ThreadBootBench.prepare(apps: ["threads", "share", "cpubench", "hello"])
  }

  func testThreadsPrintsItsChecksumUnderRoundRobin() throws {
    try threads("threads", scheduler: "rr")
  }

  func testThreadsPrintsTheSameChecksumUnderStride() throws {
    try threads("threads:stride", scheduler: "stride")
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
    let json = try XCTUnwrap(Self.jsonLine(of: "cpubench", in: result.lines), "no JSON line\n\(log)")
    let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
    XCTAssertEqual(object["bench"] as? String, "cpubench")
    XCTAssertEqual(object["accel"] as? String, "tcg")
    XCTAssertEqual(object["unit"] as? String, "cycles")
    let results = try XCTUnwrap(object["results"] as? [String: Any], json)
    for metric in ["null_call", "thread_switch", "thread_switch_stride"] {
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

  /// The env's JSON line, joined again where the console cut it into lines.
  static func jsonLine(of app: String, in lines: [String]) -> String? {
    let texts = lines.compactMap { line -> String? in
      if case .env(let name, _, let text) = ConsoleLine(line), name == app { return text }
      return nil
    }
    guard let start = texts.firstIndex(where: { $0.hasPrefix("{\"bench\"") }) else { return nil }
    var joined = ""
    for text in texts[start...] {
      joined += text
      if (try? JSONSerialization.jsonObject(with: Data(joined.utf8))) != nil { return joined }
    }
    return nil
  }

  private func prepared() throws -> ThreadBootBench {
    switch Self.prepared {
    case .success(let prepared): return prepared
    case .failure(let error):
      let text = (error as? ExoFailure).map { [$0.detail, $0.description].compactMap { $0 }.joined(separator: "\n") }
      XCTFail(text ?? "\(error)")
      throw error
    }
  }

  /// Links `apps` into their slots and boots them under TCG with a hard 60 s timeout.
  private func boot(_ apps: String...) throws -> BootResult {
    let choices = try apps.map { try AppChoice.parse($0) }
    let bench = try prepared()
    let plan = try BootPlan(root: bench.root, catalog: bench.catalog, apps: choices, accel: .tcg)
    try bench.builder.link(plan.modules)
    return try plan.boot(qemu: bench.qemu, timeout: 60)
  }
}

/// The package, its apps, QEMU and the built images, shared by these tests.
private struct ThreadBootBench: Sendable {
  let root: URL
  let catalog: AppCatalog
  let qemu: URL
  let builder: ImageBuilder

  static func prepare(apps: [String]) throws -> ThreadBootBench {
    guard let qemu = QemuInstaller.locate() else {
      throw ExoFailure(
        "QEMU is not installed, so the boot tests cannot run; install it with: "
          + "sudo apt-get install -y qemu-system-x86 (.ci/run does this)", exitStatus: ExitStatus.unavailable)
    }
    let root = try PackageRoot.find(from: URL(fileURLWithPath: #filePath).deletingLastPathComponent())
    let builder = ImageBuilder(root: root, toolchain: try Toolchain.find())
    try builder.compile(apps: apps)
    return ThreadBootBench(root: root, catalog: try AppCatalog.load(root: root), qemu: qemu, builder: builder)
  }
}
