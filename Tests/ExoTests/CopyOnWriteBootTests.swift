// Boot test of copy-on-write between two regions in an image: the clone
// shares every frame, reading it copies nothing, writing it copies each
// page once, the source then regains write without a copy, and every byte
// of both regions is checked; every frame returns at exit.
import ExoHost
import XCTest

final class CopyOnWriteBootTests: XCTestCase {
  private static let prepared: Result<BootBench, any Error> = Result {
    try BootBench.prepare(apps: ["pager-demo", "hello"])
  }

  func testCloneSharesFramesAndCopiesOnlyOnWrite() throws {
    let result = try BootBench.unwrap(Self.prepared).boot(["pager-demo:cow", "hello"])
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0), .exited(status: 0)], log)
    XCTAssertTrue(
      result.lines.contains(
        "[pager-demo:1] pager-demo: cow: 8 pages cloned sharing 8 frames; 0 copies after reading the clone, 8 copies after writing it, 8 pages of the source regained write without a copy"
      ), log)
    XCTAssertTrue(result.lines.contains("[pager-demo:1] pager-demo: cow: all 65536 bytes of both regions verified"), log)
    let atBoot = try XCTUnwrap(result.verdict.framesFreeAtBoot, log)
    XCTAssertEqual(result.verdict.framesFreeAtEnd, atBoot, "frames leaked\n\(log)")
  }
}
