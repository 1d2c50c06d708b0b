// Boot test of visible revocation: a supervisor lowers two quotas; the
// cooperative pager gives the frames back by evicting and still verifies
// every byte, the hostile hoarder refuses and loses its newest frames by
// force (its repossession vector names each one), and an env nobody asked
// checks its own bytes. Every frame returns at exit. And an over-committed
// machine: starting a held env lowers the tenant's quota to its share, the
// tenant gives back what it is asked, and takes it again after the env exits.
import ExoHost
import XCTest

final class RevocationBootTests: XCTestCase {
  private static let prepared: Result<BootBench, any Error> = Result {
    try BootBench.prepare(apps: ["reclaim", "pager-demo", "badmem", "hello", "tenant"])
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

  func testStartingAHeldEnvAsksTheTenantForItsShareAndGivesItBackAtExit() throws {
    let bench = try BootBench.unwrap(Self.prepared)
    let result = try bench.boot(["reclaim:start", "hello", "tenant"], memoryMiB: 64, held: [2])
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertEqual(result.verdict.envs.map { "\($0.name):\($0.id)" }, ["reclaim:1", "hello:2", "tenant:3"], log)
    XCTAssertEqual(result.verdict.envs.map(\.end), Array(repeating: .exited(status: 0), count: 3), log)
    XCTAssertFalse(result.lines.contains { $0.contains("WRONG") }, log)
    XCTAssertTrue(result.lines.contains("[exo] module 2 held: env hello:2 waits for env_start"), log)

    // The tenant's quota moves with the envs that share the machine: down
    // when env 2 starts, back up when it exits (kernel lines "quota A -> B").
    let moves = result.lines.compactMap { line -> (UInt64, UInt64)? in
      guard line.hasPrefix("[exo] env tenant:3 quota ") else { return nil }
      let words = line.split(separator: " ")
      guard let from = UInt64(words[4]), let to = UInt64(words[6]) else { return nil }
      return (from, to)
    }
    XCTAssertGreaterThanOrEqual(moves.count, 3, log)
    let lowered = try XCTUnwrap(moves.dropFirst().first, log)
    XCTAssertLessThan(lowered.1, lowered.0, "starting env 2 lowers the tenant's quota\n\(log)")
    XCTAssertGreaterThan(try XCTUnwrap(moves.last).1, lowered.1, "env 2's exit gives the share back\n\(log)")

    // Asked for exactly its excess, it gave all of it back: nothing by force.
    let gave = try XCTUnwrap(result.lines.first { $0.hasPrefix("[tenant:3] tenant: asked for ") }, log)
    let asked = try XCTUnwrap(UInt64(gave.split(separator: " ")[4]), gave)
    XCTAssertEqual(asked, lowered.0 - lowered.1, log)
    XCTAssertTrue(gave.hasSuffix("gave back \(asked); the kernel asks for 0 more"), log)
    XCTAssertFalse(result.lines.contains { $0.hasPrefix("[exo] env tenant:3 missed its deadline") }, log)
    XCTAssertTrue(result.lines.contains { $0.hasPrefix("[reclaim:1] reclaim: started env 2 after ") }, log)
    XCTAssertTrue(result.lines.contains("[hello:2] Hello from the exokernel! I am env 2."), log)
    XCTAssertTrue(result.lines.contains("[tenant:3] tenant: allocated again after the started env exited"), log)
    XCTAssertTrue(result.lines.contains { $0.hasPrefix("[tenant:3] tenant: ") && $0.hasSuffix(" pages kept, 0 damaged") }, log)
    XCTAssertEqual(result.verdict.framesFreeAtEnd, result.verdict.framesFreeAtBoot, log)
  }
}
