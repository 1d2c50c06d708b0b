// The DHCP client in a real boot: dhcp-client leases an address from
// QEMU's DHCP server beside udp-echo's static one, the kernel binds the
// leased address from the server's ACK, and the client reaches a host
// listener from it. Forged ACKs from the injection link cannot move the
// binding: one assigning udp-echo's address is refused, one answering no
// request of the client's is ignored.
import ExoHost
import Foundation
import XCTest

final class NetDHCPBootTests: XCTestCase {
  private static let prepared: Result<BootBench, any Error> = Result {
    try BootBench.prepare(apps: ["dhcp-client", "udp-echo"])
  }

  static let clientMAC: [UInt8] = [0x02, 0, 0, 0, 0x01, 0x50]

  func testLeaseBindsTheAddressAndForgedACKsDoNot() throws {
    let bench = try BootBench.unwrap(Self.prepared)
    let hostPort = try FreePort.tcp()
    // The host side of the client's connection: answers one line, logs it.
    let listener = try HostListener(port: hostPort)
    defer { listener.stop() }
    let boot = try NetBoot.start(
      bench, apps: ["udp-echo:4", "dhcp-client:\(hostPort)"], forwards: [.udp(7, app: "udp-echo")], inject: true,
      timeout: 90)
    defer { _ = boot.stop() }

    // The client's first request (DISCOVER) gives its transaction id.
    var xid: UInt32? = nil
    let deadline = Date(timeIntervalSinceNow: 60)
    while xid == nil, deadline.timeIntervalSinceNow > 0 {
      guard let frame = boot.receiveFrame(timeout: deadline.timeIntervalSinceNow) else { break }
      if frame.count > 14 + 20 + 8 + 8, Array(frame[6..<12]) == Self.clientMAC, Wire.read16(frame, 12) == 0x0800,
        Wire.read16(frame, 34) == 68, Wire.read16(frame, 36) == 67
      {
        xid = Wire.read32(frame, 14 + 20 + 8 + 4)
      }
    }
    let transaction = try XCTUnwrap(xid, "no DHCP request from the client on the wire")
    // From a server the client never asked (10.0.2.99), so its own stack ignores both.
    try boot.sendFrame(
      DHCPBindingTests.frame(xid: transaction, yiaddr: [10, 0, 2, 110], chaddr: Self.clientMAC, server: [10, 0, 2, 99]))
    try boot.sendFrame(
      DHCPBindingTests.frame(xid: transaction ^ 1, yiaddr: [10, 0, 2, 77], chaddr: Self.clientMAC, server: [10, 0, 2, 99]))

    XCTAssertNotNil(
      boot.waitForLine(containing: "[exo] net: refused a DHCP lease of an address another env holds", timeout: 30))
    let answered = "[dhcp-client:2] the host answered: welcome, hello from 10.0.2.15"
    XCTAssertNotNil(boot.waitForLine(containing: answered, timeout: 60))
    XCTAssertNotNil(boot.waitForLine(containing: "[udp-echo:1] listening on 10.0.2.110:7 (udp)", timeout: 5))
    let port = try XCTUnwrap(boot.hostPort(7, app: "udp-echo", .udp))
    let echo = try HostClient.run("socat", ["-t", "2", "-", "UDP:127.0.0.1:\(port)"], input: "still mine", timeout: 10)
    XCTAssertEqual(echo.stdout, "still mine", "udp-echo keeps its address: \(echo.stderr)")

    let result = boot.waitForEnd(timeout: 40)
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(result.log)")
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0), .exited(status: 0)], result.log)
    XCTAssertTrue(result.lines.contains("[exo] net: env dhcp-client:2 bound to 10.0.2.15 by DHCP"), result.log)
    XCTAssertFalse(result.lines.contains { $0.contains("bound to 10.0.2.77") }, "an unsolicited ACK moved the binding")
    XCTAssertTrue(
      result.lines.contains { $0.hasPrefix("[dhcp-client:2] leased 10.0.2.15 from 10.0.2.2") }, result.log)
    XCTAssertTrue(result.lines.contains { $0.contains("refused as spoofed 0,") }, result.log)
    XCTAssertEqual(result.verdict.framesFreeAtEnd, result.verdict.framesFreeAtBoot, result.log)
    XCTAssertEqual(listener.received(), "hello from 10.0.2.15\n")
  }
}

/// A one-connection TCP server on 127.0.0.1 (QEMU's user network maps
/// the guest's 10.0.2.2 there): it reads a line, answers "welcome, LINE".
final class HostListener: @unchecked Sendable {
  private let fd: Int32
  private let lock = NSLock()
  private var line = ""
  private var thread: Thread? = nil

  init(port: Int) throws {
    let socket = try LoopbackSocket(.tcp, port: port)
    guard listen(socket.fd, 1) == 0 else {
      socket.close()
      throw ExoFailure("listen on \(port): \(errno)", exitStatus: 1)
    }
    fd = socket.fd
    let thread = Thread { [self] in serve() }
    self.thread = thread
    thread.start()
  }

  private func serve() {
    let client = accept(fd, nil, nil)
    guard client >= 0 else { return }
    defer { close(client) }
    var bytes: [UInt8] = []
    var byte: UInt8 = 0
    while bytes.count < 200, read(client, &byte, 1) == 1 {
      bytes.append(byte)
      if byte == UInt8(ascii: "\n") { break }
    }
    let text = String(decoding: bytes, as: UTF8.self)
    lock.withLock { line = text }
    let answer = Array("welcome, \(text)".utf8)
    _ = answer.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
  }

  func received() -> String { lock.withLock { line } }

  /// Closes the socket, which ends an `accept` still waiting.
  func stop() {
    shutdown(fd, Int32(SHUT_RDWR))
    close(fd)
  }
}
