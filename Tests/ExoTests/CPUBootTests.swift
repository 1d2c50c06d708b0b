// Boot tests of the CPU issue's later parts: per-env timers (deadlines,
// periods, the shared page's event counter, the delivery upcall, hostile
// arguments) beside another env, asynchronous protected control transfer,
// and `exo boot`'s relay of its own stdin to the serial console. The apps check their own figures against the kernel's time
// page; the test asserts on their lines and the boot's verdict.
import ExoHost
import Foundation
import XCTest

final class CPUBootTests: XCTestCase {
  private static let prepared: Result<BootBench, any Error> = Result {
    try BootBench.prepare(apps: ["sleeper", "counter", "pct", "echo", "cpubench"])
  }

  private func prepared() throws -> BootBench { try BootBench.unwrap(Self.prepared) }

  /// Under -icount the TSC counts instructions, so "on time" is exact: the
  /// app's own checks (never early, at most five slices late) all pass while
  /// `counter` takes turns beside it, and every hostile argument is refused.
  func testTimerEventsArriveOnTimeAndHostileArgumentsAreRefused() throws {
    let result = try prepared().boot(["sleeper:timers", "counter"], accel: .icount)
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertTrue(result.lines.contains("[sleeper:1] timers: all checks passed"), log)
    XCTAssertFalse(result.lines.contains { $0.contains("WRONG") }, log)
    let checks = result.lines.filter { $0.hasPrefix("[sleeper:1] ok ") }
    XCTAssertEqual(checks.count, 30, log)
    for expected in [
      "[sleeper:1] ok a 2^64-1 µs timeout waits for the event",
      "[sleeper:1] ok the one-shot timer does not fire early",
      "[sleeper:1] ok a fifth is refused with table_full",
      "[sleeper:1] ok bit 64 is refused",
      "[sleeper:1] ok a deadline two hours ahead is refused",
      "[sleeper:1] ok the delivery upcalls the handler while the env spins",
    ] {
      XCTAssertTrue(result.lines.contains(expected), "\(expected)\n\(log)")
    }
    XCTAssertTrue(result.lines.contains("[counter:2] count 5"), log)
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0), .exited(status: 0)], log)
    XCTAssertEqual(result.verdict.framesFreeAtEnd, result.verdict.framesFreeAtBoot, "frames leaked\n\(log)")
  }

  /// Asynchronous protected control transfer: each send runs the server's
  /// activation before it returns (the server signals back from it), one
  /// longer than the sender's slice finishes in the server's own turn, and
  /// sending to itself, an unknown env, one that stopped listening or one
  /// that exited is refused as a call is.
  func testAsynchronousSendsRunTheCalleeAndAreRefusedAsCallsAre() throws {
    let result = try prepared().boot(["pct:client", "pct:server"])
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    for expected in [
      "100 sends each ran the server, which signalled back",
      "a send whose activation outlasts the turn returns",
      "its activation finishes in the server's turn and signals",
      "sending to itself is refused",
      "sending to an unknown env is refused",
      "sending to env 0 is refused",
      "sending to an env that no longer listens is refused",
      "sending to an exited env is refused",
      "a call after the sends is answered",
    ] {
      XCTAssertTrue(result.lines.contains("[pct:1] ok \(expected)"), "\(expected)\n\(log)")
    }
    XCTAssertFalse(result.lines.contains { $0.contains("WRONG") }, log)
    XCTAssertTrue(result.lines.contains("[pct:2] served 1104 calls"), log)
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0), .exited(status: 0)], log)
    XCTAssertEqual(result.verdict.framesFreeAtEnd, result.verdict.framesFreeAtBoot, "frames leaked\n\(log)")
  }

  /// cpubench's PCT figures time the transfer with pct:server's minimal
  /// handler: cpubench checks that the server switched to it (a call
  /// answered w0 + 1) before timing, or leaves the metrics out; the server
  /// exits at cpubench's signal, before the event latency's samples.
  func testCPUBenchTimesTheTransferWithTheMinimalHandler() throws {
    let result = try prepared().boot(["cpubench:icount-trace", "pct:server"])
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertFalse(result.lines.contains { $0.contains("left out") }, log)
    XCTAssertTrue(result.lines.contains("[pct:2] served 2 calls, then cpubench's timed ones"), log)
    let json = try XCTUnwrap(BootBench.jsonLine(of: "cpubench", in: result.lines), "no JSON line\n\(log)")
    let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], json)
    let results = try XCTUnwrap(object["results"] as? [String: Any], json)
    for metric in ["pct_round_trip", "pct_send_round_trip"] {
      let figures = try XCTUnwrap(results[metric] as? [String: Any], "\(metric) missing\n\(json)")
      XCTAssertNotNil(figures["median"] as? Int, "\(metric)\n\(json)")
    }
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0), .exited(status: 0)], log)
  }

  /// What `exo boot` does with a terminal: its own stdin is relayed to the
  /// guest's serial line as it arrives. Here this test process's stdin is a
  /// pipe for the boot's length, written line by line while QEMU runs, as a
  /// person would type (README: checked by hand through a pty with `script`).
  func testStandardInputIsRelayedToTheSerialConsoleWhileTheBootRuns() throws {
    let bench = try prepared()
    var fds: [Int32] = [0, 0]
    XCTAssertEqual(pipe(&fds), 0)
    let saved = dup(STDIN_FILENO)
    XCTAssertEqual(dup2(fds[0], STDIN_FILENO), STDIN_FILENO)
    close(fds[0])
    defer {
      dup2(saved, STDIN_FILENO)
      close(saved)
    }
    let writer = fds[1]
    let typist = Thread {
      for line in ["typed into a pipe", "and another", "quit"] {
        Thread.sleep(forTimeInterval: 0.7)
        _ = Array((line + "\n").utf8).withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }
      }
      close(writer)
    }
    typist.start()
    let result = try bench.boot(["echo"], relayInput: true)
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertTrue(result.lines.contains("[echo:1] you typed: typed into a pipe"), log)
    XCTAssertTrue(result.lines.contains("[echo:1] you typed: and another"), log)
    XCTAssertTrue(result.lines.contains("[echo:1] quit after 2 lines"), log)
  }
}
