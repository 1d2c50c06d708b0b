// Boot test of visible revocation: a supervisor lowers two quotas; the
// cooperative pager gives the frames back by evicting and still verifies
// every byte, the hostile hoarder refuses and loses its newest frames by
// force (its repossession vector names each one), and an env nobody asked
// checks its own bytes. Every frame returns at exit.
import ExoHost
import XCTest

final class RevocationBootTests: XCTestCase {
  private static let prepared: Result<BootBench, any Error> = Result {
    try BootBench.prepare(apps: ["reclaim", "pager-demo", "badmem"])
  }

  func testCooperativeEnvGivesBackAndHostileEnvLosesFramesByForce() throws {
    let bench = try BootBench.unwrap(Self.prepared)
    let result = try bench.boot(["reclaim", "pager-demo:reclaim", "badmem:hoard", "pager-demo:clock"])
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertEqual(result.verdict.envs.map(\.end), Array(repeating: .exited(status: 0), count: 4), log)
    XCTAssertTrue(
      result.lines.contains("[reclaim:1] reclaim: asked env 2 for 6 frames within 8 turns, env 3 for 6 within 2"), log)
    // The pager met the request itself: no force, every byte still right.
    XCTAssertTrue(
      result.lines.contains {
        $0.hasPrefix("[pager-demo:2] pager-demo: asked for 6 frames back, gave back 6; ")
          && $0.hasSuffix("the kernel asks for 0 more")
      }, log)
    XCTAssertFalse(result.lines.contains { $0.hasPrefix("[exo] env pager-demo:2 missed its deadline") }, log)
    XCTAssertTrue(result.lines.contains("[pager-demo:2] pager-demo: all 262144 bytes verified"), log)
    // The hoarder gave nothing and lost six frames, each named in its vector.
    XCTAssertTrue(result.lines.contains("[exo] env badmem:3 missed its deadline: 6 frames taken by force"), log)
    XCTAssertTrue(
      result.lines.contains(
        "[badmem:3] hoard: lost 6 frames by force, named in its repossession vector; 18 pages kept, every byte verified"),
      log)
    XCTAssertTrue(result.lines.contains { $0.hasPrefix("[badmem:3] all ") && $0.hasSuffix(" revocation checks answered correctly") }, log)
    XCTAssertFalse(result.lines.contains { $0.contains("WRONG") }, log)
    XCTAssertTrue(result.lines.contains("[badmem:3] holds: the frames taken are its newest unshared ones, newest first"), log)
    XCTAssertEqual(result.lines.filter { $0.hasPrefix("[badmem:3] refused quota_lower") }.count, 6, log)
    // The env nobody asked.
    XCTAssertTrue(result.lines.contains("[pager-demo:4] pager-demo: all 262144 bytes verified"), log)
    let atBoot = try XCTUnwrap(result.verdict.framesFreeAtBoot, log)
    XCTAssertEqual(result.verdict.framesFreeAtEnd, atBoot, "frames leaked\n\(log)")
  }
}
