// A boot test of netbench under TCG with 64 filters bound (its manifest's
// quota): a 65th filter is refused, a few datagrams come back byte for byte,
// and after "quit" it prints a JSON line the host reads. No timings are
// asserted; `exo bench net` measures them.
import Foundation
import XCTest

@testable import ExoHost

final class NetBenchBootTests: XCTestCase {
  private static let prepared: Result<BootBench, any Error> = Result { try BootBench.prepare(apps: ["netbench"]) }

  func testNetbenchWithSixtyFourFiltersEchoesAndReports() throws {
    let bench = try BootBench.unwrap(Self.prepared)
    let boot = try NetBoot.start(bench, apps: ["netbench:tcg-f64"], forwards: [.udp(7)], timeout: 120)
    defer { _ = boot.stop() }
    guard boot.waitForLine(containing: "[netbench:1] listening on 10.0.2.140:7 (udp), 64 filters bound", timeout: 90) != nil
    else {
      let result = boot.stop()
      return XCTFail("netbench never listened: \(result.verdict.reason)\n\(result.log)")
    }
    XCTAssertTrue(
      boot.lines.contains("[netbench:1] filter quota: a 65th filter refused: net_bind refused: table_full (reason 0)"),
      boot.lines.joined(separator: "\n"))
    let port = try XCTUnwrap(boot.hostPort(7, .udp))

    var random = SplitMix64(seed: 0x4E7B_E4C4)
    let sizes = [1, 64, 700, 1472, 9]
    for (index, size) in sizes.enumerated() {
      let datagram = random.bytes(size)
      XCTAssertTrue(try NetBenchClient.udpExchange(port: port, datagram, timeout: 10), "datagram \(index) (\(size) bytes)")
    }
    try NetBenchClient.udpSend(port: port, Array("quit".utf8))

    let result = boot.waitForEnd(timeout: 60)
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(result.log)")
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0)], result.log)
    XCTAssertTrue(
      result.lines.contains { $0.hasPrefix("[netbench:1] netbench: echoed \(sizes.count) datagrams (0 sends failed) with 64 filters bound;") },
      result.log)
    let line = try XCTUnwrap(BenchLine.find(in: result.lines, bench: "netbench"), result.log)
    XCTAssertEqual(line.accel, "tcg")
    XCTAssertEqual(line.unit, "cycles")
    XCTAssertEqual(line.metrics.map(\.name), ["kernel_rx_frame_64filters", "libos_udp_echo"])
    // Each figure is a real count: the kernel wrote one for every frame it delivered.
    for metric in line.metrics { XCTAssertGreaterThan(metric.median, 0, metric.name) }
  }
}
