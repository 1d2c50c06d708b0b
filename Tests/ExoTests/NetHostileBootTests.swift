// The kernel's network calls under attack from an env that has a binding:
// netbad tries to send spoofed frames, bind filters for frames that are not
// its own, forge ring capabilities, free a pinned ring frame, and free the
// frames a send is still being read from, while udp-echo beside it serves
// a host client as if nothing happened.
import ExoHost
import Foundation
import XCTest

final class NetHostileBootTests: XCTestCase {
  private static let prepared: Result<BootBench, any Error> = Result {
    try BootBench.prepare(apps: ["netbad", "udp-echo"])
  }

  func testHostileNetworkCallsAreRefusedAndTheNeighbourServes() throws {
    let bench = try BootBench.unwrap(Self.prepared)
    let boot = try NetBoot.start(bench, apps: ["netbad", "udp-echo:3"], forwards: [.udp(7, app: "udp-echo")])
    XCTAssertNotNil(boot.waitForLine(containing: "[udp-echo:2] listening on 10.0.2.110:7 (udp)", timeout: 40))
    let port = try XCTUnwrap(boot.hostPort(7, app: "udp-echo", .udp))
    let message = "not spoofed, just echoed"
    let echo = try HostClient.run(
      "socat", ["-t", "2", "-", "UDP:127.0.0.1:\(port)"], input: message, timeout: 10)
    XCTAssertEqual(echo.stdout, message, echo.stderr)

    let result = boot.waitForEnd(timeout: 60)
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(result.log)")
    XCTAssertTrue(result.lines.contains("[netbad:1] all 31 hostile network calls answered correctly"), result.log)
    XCTAssertFalse(result.lines.contains { $0.contains("WRONG") }, result.log)
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0), .exited(status: 0)], result.log)
    XCTAssertTrue(result.lines.contains { $0.hasPrefix("[udp-echo:2] echoed 1 datagrams, 24 bytes") }, result.log)
    // The kernel counted netbad's five spoofed frames and sent none of them;
    // its nine large honest frames went out chained from its own pages.
    XCTAssertTrue(result.lines.contains { $0.contains("refused as spoofed 5,") }, result.log)
    XCTAssertTrue(result.lines.contains { $0.hasSuffix(", chained 9") }, result.log)
    let final = try XCTUnwrap(result.lines.last { $0.hasPrefix("[exo] all envs exited; frames free ") })
    let counts = final.split(separator: " ").compactMap { Int($0) }
    XCTAssertEqual(counts.count, 2, final)
    XCTAssertEqual(counts.first, counts.last, "every frame came back: \(final)")
  }
}
