// Boot tests of the host side of networking in QEMU 7.2: the NIC, its port
// forwards and the raw-frame injection link are accepted, leave a plain boot
// as good as before, and carry frames between the host, slirp and the NIC.
// (The kernel's driver and the network apps have their own tests.)
import ExoHost
import Foundation
import XCTest

final class NetBootTests: XCTestCase {
  private static let prepared: Result<BootBench, any Error> = Result {
    try BootBench.prepare(apps: ["hello", "echo"])
  }

  private func prepared() throws -> BootBench { try BootBench.unwrap(Self.prepared) }

  private let mac: [UInt8] = [0x02, 0, 0, 0, 0, 0x01]
  private let guestIP: [UInt8] = [10, 0, 2, 100]
  private var identity: AppNetwork { AppNetwork(mac: 0x02_00_00_00_00_01, address: .fixed(0x0A00_0264)) }

  /// hello given a MAC and an address: QEMU takes the NIC and the forwards,
  /// the kernel takes the command line, and the boot is as good as without.
  func testHelloStillPassesWithTheNICAndForwardsPresent() throws {
    let boot = try NetBoot.start(
      try prepared(), apps: ["hello"], forwards: [.tcp(80), .udp(7)], networks: ["hello": identity])
    let arguments = try boot.plan.machine.arguments()
    XCTAssertTrue(arguments.contains("virtio-net-pci,netdev=net0,disable-modern=on"), "\(arguments)")
    XCTAssertEqual(
      boot.plan.modules[0].commandLine, "name=hello frames=128 slices=1 mac=02:00:00:00:00:01 ip=10.0.2.100")
    let tcp = try XCTUnwrap(boot.hostPort(80))
    let udp = try XCTUnwrap(boot.hostPort(7, .udp))
    XCTAssertTrue(
      arguments.contains {
        $0.contains("hostfwd=tcp:127.0.0.1:\(tcp)-10.0.2.100:80,hostfwd=udp:127.0.0.1:\(udp)-10.0.2.100:7")
      })

    let result = boot.waitForEnd(timeout: 60)
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(result.stderr)\n\(result.log)")
    XCTAssertTrue(result.lines.contains("[hello:1] Hello from the exokernel! I am env 1."), result.log)
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0)], result.log)
  }

  /// A frame sent to the injection port reaches the NIC and slirp; slirp's
  /// answer and the SYN of a host connection to a forwarded port come back
  /// on the link; the NIC's pcap holds both directions.
  func testInjectedFramesReachTheNICAndSlirpAnswers() throws {
    let boot = try NetBoot.start(
      try prepared(), apps: ["echo"], forwards: [.tcp(80)], inject: true, pcap: true, networks: ["echo": identity])
    XCTAssertNotNil(
      boot.waitForLine(containing: "[echo:1] type a line", timeout: 30), boot.lines.joined(separator: "\n"))

    // ARP (RFC 826): who has 10.0.2.2 (QEMU's gateway)? Tell 10.0.2.100.
    let request: [UInt8] =
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] + mac + [0x08, 0x06] + [0, 1, 0x08, 0, 6, 4, 0, 1] + mac + guestIP
      + [0, 0, 0, 0, 0, 0] + [10, 0, 2, 2]
    try boot.sendFrame(request)
    let reply = frame(on: boot, within: 10) { frame in
      frame.count >= 42 && Array(frame[0..<6]) == self.mac && frame[12] == 0x08 && frame[13] == 0x06
        && frame[20] == 0 && frame[21] == 2 && Array(frame[28..<32]) == [10, 0, 2, 2]
    }
    let answer = try XCTUnwrap(reply, "no ARP reply from slirp on the injection link")
    XCTAssertEqual(Array(answer[32..<38]), mac, "the reply names our MAC as its target")

    // A host connection to the forwarded port makes slirp reach for 10.0.2.100:80.
    let port = try XCTUnwrap(boot.hostPort(80))
    let curl = try HostClient.run("curl", ["-s", "--max-time", "2", "http://127.0.0.1:\(port)/"], timeout: 10)
    XCTAssertFalse(curl.timedOut)
    let towardGuest = frame(on: boot, within: 5) { frame in
      guard frame.count >= 42 else { return false }
      let arpForGuest =
        frame[12] == 0x08 && frame[13] == 0x06 && frame[21] == 1 && Array(frame[38..<42]) == self.guestIP
      let synToGuest =
        frame.count >= 54 && frame[12] == 0x08 && frame[13] == 0x00 && frame[23] == 6
        && Array(frame[30..<34]) == self.guestIP && frame[36] == 0 && frame[37] == 80
      return arpForGuest || synToGuest
    }
    XCTAssertNotNil(
      towardGuest, "nothing on the guest's network toward 10.0.2.100 after connecting to 127.0.0.1:\(port)")

    let result = boot.stop()
    XCTAssertTrue(result.lines.contains("[echo:1] type a line (quit to end)"), result.log)
    XCTAssertTrue(
      result.nicFrames.contains(request), "the NIC did not see the injected frame: \(result.nicFrames.count) frames")
    XCTAssertTrue(result.nicFrames.contains(answer), "the NIC did not see slirp's reply")
  }

  /// Frames from the injection link until one `matches` or `seconds` pass.
  private func frame(on boot: NetBoot, within seconds: Double, where matches: ([UInt8]) -> Bool) -> [UInt8]? {
    let deadline = Date(timeIntervalSinceNow: seconds)
    while deadline.timeIntervalSinceNow > 0 {
      guard let frame = boot.receiveFrame(timeout: deadline.timeIntervalSinceNow) else { return nil }
      if matches(frame) { return frame }
    }
    return nil
  }
}
