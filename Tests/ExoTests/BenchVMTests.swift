// `exo bench vm` without QEMU: reading vmbench's JSON line off the console and
// rendering the table and the page from sample lines.
import ExoHost
import Foundation
import XCTest

final class BenchVMTests: XCTestCase {
  let icountJSON =
    #"{"bench": "vmbench", "accel": "icount", "unit": "instructions", "results": {"null_call": {"median": 121, "p99": 121}, "dirty": {"median": 3, "p99": 3}, "prot1": {"median": 554, "p99": 554}, "trap": {"median": 780, "p99": 780}, "appel2": {"median": 1056, "p99": 1058}, "fault": {"median": 1569, "p99": 1616}, "map_batch100": {"median": 31165, "p99": 31366}}}"#
  let kvmJSON =
    #"{"bench": "vmbench", "accel": "kvm", "unit": "cycles", "results": {"null_call": {"median": 20000, "p99": 41000}, "dirty": {"median": 9, "p99": 12}, "prot1": {"median": 90000, "p99": 120000}, "trap": {"median": 300000, "p99": 450000}, "appel2": {"median": 250000, "p99": 260000}, "fault": {"median": 400000, "p99": 500000}, "map_batch100": {"median": 4000000, "p99": 4100000}}}"#

  func result(kvm: VMBenchResult.Measure? = nil) -> VMBenchResult {
    VMBenchResult(
      date: Date(timeIntervalSince1970: 0), icount: VMBenchLine(json: icountJSON)!,
      kvm: kvm ?? .measured(VMBenchLine(json: kvmJSON)!), icountQemu: "qemu-system-x86_64 -accel tcg -icount shift=0",
      kvmQemu: "qemu-system-x86_64 -accel kvm")
  }

  // MARK: parsing

  func testReadsTheLineAfterTheConsolePrefix() throws {
    let line = try XCTUnwrap(VMBenchLine(consoleLine: "[vmbench:1] " + icountJSON))
    XCTAssertEqual(line.json, icountJSON)
    XCTAssertEqual(line.accel, "icount")
    XCTAssertEqual(line.unit, "instructions")
    XCTAssertEqual(line.metrics.map(\.name), ["null_call", "dirty", "prot1", "trap", "appel2", "fault", "map_batch100"])
    XCTAssertEqual(line.metric("appel2"), VMBenchLine.Metric(name: "appel2", median: 1056, p99: 1058))
    XCTAssertNil(line.metric("upcall"))
  }

  func testIgnoresEverythingElse() {
    XCTAssertNil(VMBenchLine(consoleLine: icountJSON))  // no prefix
    XCTAssertNil(VMBenchLine(consoleLine: "[hello:1] " + icountJSON))  // another app
    XCTAssertNil(VMBenchLine(consoleLine: "[exo] " + icountJSON))
    XCTAssertNil(VMBenchLine(consoleLine: "[vmbench:1] vmbench: 4800 exceptions handled at user level"))
    XCTAssertNil(VMBenchLine(consoleLine: "[vmbench:1] {\"bench\": \"vmbench\", \"results\": {"))  // cut off
    XCTAssertNil(VMBenchLine(json: #"{"bench": "boot", "accel": "icount", "unit": "ms", "results": {}}"#))
    XCTAssertNil(
      VMBenchLine(json: #"{"bench": "vmbench", "accel": "icount", "unit": "x", "results": {"a": {"median": -1, "p99": 2}}}"#))
    XCTAssertNil(
      VMBenchLine(json: #"{"bench": "vmbench", "accel": "icount", "unit": "x", "results": {"a": {"median": 1.5, "p99": 2}}}"#))
    XCTAssertNil(
      VMBenchLine(json: #"{"bench": "vmbench", "accel": "icount", "unit": "x", "results": {"a": {"median": true, "p99": 2}}}"#))
  }

  /// 0 and 1 bridge to Bool; a wrapped rdtsc delta needs all 64 bits.
  func testReadsZeroOneAndHugeCounts() throws {
    let results = #"{"dirty": {"median": 0, "p99": 1}, "wrapped": {"median": 18446744073709551000, "p99": 9007199254740993}}"#
    let line = try XCTUnwrap(
      VMBenchLine(json: #"{"bench": "vmbench", "accel": "kvm", "unit": "cycles", "results": "# + results + "}"))
    XCTAssertEqual(line.metric("dirty"), VMBenchLine.Metric(name: "dirty", median: 0, p99: 1))
    XCTAssertEqual(
      line.metric("wrapped"), VMBenchLine.Metric(name: "wrapped", median: 18_446_744_073_709_551_000, p99: 9_007_199_254_740_993))
  }

  func testFindsTheJSONLineAmongABootsLines() {
    let lines = [
      "[exo] env vmbench:1 started: 107 frames",
      "[vmbench:1] vmbench: 4800 exceptions handled at user level; rdtsc pair 3 instructions subtracted",
      "[vmbench:1] " + icountJSON,
      "[exo] env vmbench:1 exited: status 0",
    ]
    XCTAssertEqual(VMBenchLine.find(in: lines)?.json, icountJSON)
    XCTAssertNil(VMBenchLine.find(in: Array(lines.prefix(2))))
  }

  // MARK: rendering

  func testTableRowsAndRatios() {
    let rows = VMBenchReport.rows(result())
    XCTAssertEqual(rows.first, ["null_call", "121", "121", "20000", "41000", "321", "2.7x"])
    XCTAssertEqual(rows.first { $0[0] == "trap" }, ["trap", "780", "780", "300000", "450000", "10223", "13.1x"])
    XCTAssertEqual(rows.first { $0[0] == "fault" }?.suffix(2), ["2746", "1.8x"])
    XCTAssertEqual(rows.first { $0[0] == "dirty" }?.suffix(2), ["-", "-"])  // Linux has no dirty
    XCTAssertEqual(VMBenchReport.ratio(linux: 10, exo: 0), "-")
  }

  func testStdoutEndsWithBothJSONLinesUnchanged() {
    let lines = VMBenchReport.table(result())
    XCTAssertEqual(Array(lines.suffix(2)), [icountJSON, kvmJSON])
    XCTAssertTrue(lines[0].hasPrefix("metric"))
    XCTAssertTrue(lines[0].contains("linux/exo"))
    // The columns line up: every row's icount median starts where the header's does.
    let column = lines[0].range(of: "icount median")!.lowerBound.utf16Offset(in: lines[0])
    XCTAssertEqual(lines[1], lines[1].trimmingCharacters(in: .whitespaces))
    XCTAssertEqual(lines[1].utf16.dropFirst(column).first, UInt16(UInt8(ascii: "1")))
    for line in VMBenchReport.jsonLines(result()) {
      XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(line.utf8)), line)
    }
  }

  func testWithoutKVM() {
    let skipped = result(kvm: .unavailable("no /dev/kvm"))
    let lines = VMBenchReport.table(skipped)
    XCTAssertEqual(lines.last, icountJSON)
    XCTAssertTrue(lines.contains("kvm: skipped: no /dev/kvm"))
    XCTAssertEqual(VMBenchReport.rows(skipped).first, ["null_call", "121", "121", "-", "-", "321", "2.7x"])
    XCTAssertTrue(VMBenchReport.markdown(skipped).contains("KVM: skipped: no /dev/kvm."))
  }

  func testMarkdownPage() {
    let page = VMBenchReport.markdown(result())
    XCTAssertTrue(page.hasPrefix("# Virtual-memory evaluation\n"))
    XCTAssertTrue(page.contains("1970-01-01"))
    for command in VMBenchReport.commands { XCTAssertTrue(page.contains(command), command) }
    XCTAssertTrue(page.contains("# qemu-system-x86_64 -accel tcg -icount shift=0"))
    XCTAssertTrue(page.contains("| `trap` | 780 | 780 | 300000 | 450000 | 10223 | 13.1x |"))
    XCTAssertTrue(page.contains("| `dirty` | 3 | 3 | 9 | 12 | - | - |"))
    XCTAssertTrue(page.contains("privileged ones included"))
    XCTAssertTrue(page.contains(icountJSON) && page.contains(kvmJSON))
  }

  func testBenchVMRejectsOptions() {
    XCTAssertThrowsError(try BenchCommand.run(["vm", "--runs", "3"], root: URL(fileURLWithPath: "/nonexistent"))) {
      error in XCTAssertEqual((error as? ExoFailure)?.exitStatus, 64)
    }
  }
}
