// Boot tests of the network apps with real host clients: udp-echo, tcp-echo
// and httpd serve socat, nc and curl through QEMU's port forwards; httpd and
// tcp-echo serve at once, each on its own address and stack; httpd keeps
// serving through a burst of hostile frames from the injection link, and
// defends its address against a conflicting ARP packet. Every boot must end by the apps' idle argument with a good
// verdict, every env exiting 0 and every frame given back. The frames the
// tests inject are built in NetAppFrames.swift.
import ExoHost
import Foundation
import XCTest

final class NetAppBootTests: XCTestCase {
  private static let prepared: Result<BootBench, any Error> = Result {
    try BootBench.prepare(apps: ["httpd", "tcp-echo", "udp-echo"])
  }

  private func bench() throws -> BootBench { try BootBench.unwrap(Self.prepared) }

  private static let hello = "Hello from httpd on exo!\n"

  // MARK: udp-echo

  /// Datagrams of seeded random bytes, from 1 byte to the largest that fits
  /// one frame (1472), come back whole and byte for byte: from one socket
  /// in turn (so each reply is checked as one datagram) and from six socat
  /// clients at once.
  func testUDPEchoReturnsEveryDatagramByteForByte() throws {
    let boot = try NetBoot.start(try bench(), apps: ["udp-echo:3"], forwards: [.udp(7)], timeout: 90)
    defer { finish(boot) }
    try waitUntilListening(boot, "[udp-echo:1] listening on 10.0.2.110:7 (udp)")
    let port = try XCTUnwrap(boot.hostPort(7, .udp))

    var random = SplitMix64(seed: 0x0DD_BA11)
    var sizes = [1, 2, 7, 64, 512, 1000, 1400, 1472]
    for _ in 0..<8 { sizes.append(1 + Int(random.next() % 1472)) }
    let socket = try UDPClient(port: port)
    defer { socket.close() }
    var echoedBytes = 0
    for (index, size) in sizes.enumerated() {
      let datagram = random.bytes(size)
      try socket.send(datagram)
      let reply = try XCTUnwrap(socket.receive(timeout: 10), "datagram \(index) (\(size) bytes): no reply")
      XCTAssertEqual(reply.count, size, "datagram \(index)")
      XCTAssertTrue(reply == datagram, "datagram \(index) (\(size) bytes) came back changed")
      echoedBytes += size
    }

    let payloads = (0..<6).map { i in random.bytes(i == 0 ? 1400 : 100 + 200 * i) }
    let replies = concurrently(payloads.count) { i in try socatExchange(payloads[i], port: port, udp: true) }
    for (i, reply) in replies.enumerated() {
      switch reply {
      case .success(let (client, bytes)):
        XCTAssertFalse(client.timedOut, "socat \(i): \(client.stderr)")
        XCTAssertTrue(bytes == payloads[i], "socat \(i): \(bytes.count) bytes back for \(payloads[i].count)")
      case .failure(let error): XCTFail("socat \(i): \(error)")
      }
      echoedBytes += payloads[i].count
    }

    let result = boot.waitForEnd(timeout: 40)
    checkGoodEnd(result, apps: ["udp-echo"])
    XCTAssertTrue(
      result.lines.contains { $0.hasPrefix("[udp-echo:1] echoed \(sizes.count + 6) datagrams, \(echoedBytes) bytes;") },
      result.log)
  }

  // MARK: tcp-echo

  /// 1 MB of seeded random bytes through socat comes back byte for byte;
  /// then four connections at once (two socat, two nc) each get their own
  /// bytes back.
  func testTCPEchoReturnsAMegabyteAndFourConcurrentStreams() throws {
    let boot = try NetBoot.start(try bench(), apps: ["tcp-echo:3"], forwards: [.tcp(7)], timeout: 120)
    defer { finish(boot) }
    try waitUntilListening(boot, "[tcp-echo:1] listening on 10.0.2.120:7 (tcp)")
    let port = try XCTUnwrap(boot.hostPort(7))

    var random = SplitMix64(seed: 0xEC40_0001)
    let megabyte = random.bytes(1_000_000)
    let (client, back) = try socatExchange(megabyte, port: port, timeout: 90)
    XCTAssertFalse(client.timedOut, "socat did not finish: \(client.stderr)")
    XCTAssertEqual(back.count, megabyte.count, client.stderr)
    XCTAssertTrue(
      back == megabyte, "the megabyte came back changed (first difference at \(firstDifference(back, megabyte)))")

    let streams = (0..<4).map { i in random.bytes(48_000 + 7_919 * i) }
    let results = concurrently(streams.count) { i in
      i % 2 == 0
        ? try socatExchange(streams[i], port: port, timeout: 60)
        : try netcatExchange(streams[i], port: port, timeout: 60)
    }
    for (i, outcome) in results.enumerated() {
      switch outcome {
      case .success(let (client, bytes)):
        XCTAssertFalse(client.timedOut, "connection \(i): \(client.stderr)")
        let difference = firstDifference(bytes, streams[i])
        XCTAssertTrue(
          bytes == streams[i],
          "connection \(i): \(bytes.count) bytes back for \(streams[i].count), first difference at \(difference)")
      case .failure(let error): XCTFail("connection \(i): \(error)")
      }
    }

    let result = boot.waitForEnd(timeout: 40)
    checkGoodEnd(result, apps: ["tcp-echo"])
    let total = megabyte.count + streams.map(\.count).reduce(0, +)
    XCTAssertTrue(
      result.lines.contains { $0.hasPrefix("[tcp-echo:1] served 5 connections, echoed \(total) bytes;") }, result.log)
  }

  // MARK: httpd

  /// One httpd boot for the HTTP checks: pages, HEAD, 404, 405, malformed
  /// requests (each answered with its status, then the connection closed),
  /// keep-alive and pipelining, HTTP/1.0, /big by SHA-256, and 20 curl
  /// processes at once. The summary must count exactly these requests.
  func testHttpdServesPagesErrorsKeepAliveBigAndTwentyClients() throws {
    let expectedBig = try Self.bigFile.get()
    let boot = try NetBoot.start(try bench(), apps: ["httpd:4"], forwards: [.tcp(80)], timeout: 150)
    defer { finish(boot) }
    try waitUntilListening(boot, "[httpd:1] listening on 10.0.2.100:80 (http)")
    let port = try XCTUnwrap(boot.hostPort(80))
    let base = "http://127.0.0.1:\(port)"
    var requests = 0
    var connections = 0
    var refused = 0

    // GET /: a page about the exokernel, framed by its Content-Length.
    let index = try curl(["-i", "\(base)/"])
    requests += 1
    connections += 1
    let page = try XCTUnwrap(HTTPReply.all(in: index.stdout)?.first, "GET /: \(index.stdout)\n\(index.stderr)")
    XCTAssertEqual(page.status, 200)
    XCTAssertEqual(page.headers["content-type"], "text/html; charset=utf-8")
    XCTAssertTrue(page.body.contains("exokernel"), page.body)
    XCTAssertTrue(page.body.hasPrefix("<!doctype html>"), page.body)
    let indexBody = page.body

    // HEAD /hello.txt: the GET's headers, no body (raw, so that a stray body would show).
    let head = try curl(["-I", "\(base)/hello.txt"])
    requests += 1
    connections += 1
    let headReply = try XCTUnwrap(HTTPReply.all(in: head.stdout, bodies: false)?.first, head.stdout)
    XCTAssertEqual(headReply.status, 200)
    XCTAssertEqual(headReply.headers["content-length"], "25")
    let rawHead = try rawHTTP("HEAD /hello.txt HTTP/1.1\r\nHost: exo\r\nConnection: close\r\n\r\n", port: port)
    requests += 1
    connections += 1
    XCTAssertFalse(rawHead.timedOut, "the server kept the connection after Connection: close")
    XCTAssertTrue(rawHead.stdout.hasPrefix("HTTP/1.1 200 OK\r\n"), rawHead.stdout)
    XCTAssertTrue(rawHead.stdout.contains("\r\nContent-Length: 25\r\n"), rawHead.stdout)
    XCTAssertTrue(rawHead.stdout.hasSuffix("\r\n\r\n"), "HEAD sent a body: \(rawHead.stdout)")
    let bigHead = try curl(["-I", "\(base)/big"])
    requests += 1
    connections += 1
    XCTAssertEqual(
      HTTPReply.all(in: bigHead.stdout, bodies: false)?.first?.headers["content-length"], "\(expectedBig.length)",
      bigHead.stdout)

    // 404 and 405 keep the connection (they are well-formed requests).
    let missing = try curl(["-w", "%{http_code}", "\(base)/no-such-page"])
    requests += 1
    connections += 1
    XCTAssertEqual(missing.stdout, "Not Found\n404")
    let post = try curl(["-i", "-X", "POST", "--data", "x=1", "\(base)/"])
    requests += 1
    connections += 1
    refused += 1
    let postReply = try XCTUnwrap(HTTPReply.all(in: post.stdout)?.first, post.stdout)
    XCTAssertEqual(postReply.status, 405)
    XCTAssertEqual(postReply.headers["allow"], "GET, HEAD")
    XCTAssertEqual(postReply.headers["connection"], "keep-alive")

    // Malformed requests: the status the parser names, Connection: close,
    // then the server closes (the client never sends FIN, so socat ends
    // before its timeout only because the server closed).
    let malformed: [(String, String, Int)] = [
      ("HTTP/9.9", "GET / HTTP/9.9\r\n\r\n", 505),
      ("a space before a colon", "GET / HTTP/1.1\r\nHost : exo\r\n\r\n", 400),
      ("HTTP/1.1 without Host", "GET /hello.txt HTTP/1.1\r\nAccept: */*\r\n\r\n", 400),
      ("two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
      ("a bare CR", "GET / HTTP/1.1\rHost: exo\r\n\r\n", 400),
      ("a lower-case method", "get / HTTP/1.1\r\nHost: exo\r\nConnection: close\r\n\r\n", 405),
      ("an absolute-form target", "GET http://exo/ HTTP/1.1\r\nHost: exo\r\n\r\n", 400),
      ("obs-fold", "GET / HTTP/1.1\r\nHost: exo\r\nX-A: 1\r\n 2\r\n\r\n", 400),
      ("a 2000-byte target", "GET /" + String(repeating: "a", count: 2000) + " HTTP/1.1\r\nHost: exo\r\n\r\n", 414),
      ("Transfer-Encoding", "POST / HTTP/1.1\r\nHost: exo\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
      ("a 100000-byte body", "POST / HTTP/1.1\r\nHost: exo\r\nContent-Length: 100000\r\n\r\n", 413),
      ("two Content-Lengths", "POST / HTTP/1.1\r\nHost: exo\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
      ("a NUL in a field", "GET / HTTP/1.1\r\nHost: exo\r\nX-A: a\u{0}b\r\n\r\n", 400),
    ]
    for (what, request, status) in malformed {
      let reply = try rawHTTP(request, port: port)
      connections += 1
      refused += 1
      // A lower-case method is a well-formed request for an unknown method: counted, answered 405.
      if status == 405 { requests += 1 }
      XCTAssertTrue(reply.stdout.hasPrefix("HTTP/1.1 \(status) "), "\(what): \(reply.stdout) \(reply.stderr)")
      XCTAssertTrue(reply.stdout.contains("\r\nConnection: close\r\n"), "\(what): \(reply.stdout)")
      XCTAssertFalse(reply.timedOut, "\(what): the server did not close the connection")
    }

    // Keep-alive: curl fetches three URLs on one connection.
    let three = try curl([
      "-v", "-w", "%{http_code} %{num_connects}\n", "\(base)/hello.txt", "\(base)/index.html", "\(base)/hello.txt",
    ])
    requests += 3
    connections += 1
    XCTAssertEqual(three.stdout, Self.hello + "200 1\n" + indexBody + "200 0\n" + Self.hello + "200 0\n")
    XCTAssertTrue(three.stderr.contains("Re-using existing connection"), three.stderr)

    // Pipelining: two requests in one write, answered in order; the second asks to close.
    let pipelined = try rawHTTP(
      "GET /hello.txt HTTP/1.1\r\nHost: exo\r\n\r\nGET /nope HTTP/1.1\r\nHost: exo\r\nConnection: close\r\n\r\n",
      port: port)
    requests += 2
    connections += 1
    XCTAssertFalse(pipelined.timedOut, "the server kept the connection after Connection: close")
    let answers = try XCTUnwrap(HTTPReply.all(in: pipelined.stdout), pipelined.stdout)
    XCTAssertEqual(answers.map(\.status), [200, 404], pipelined.stdout)
    XCTAssertEqual(answers.first?.body, Self.hello)

    // HTTP/1.0 without keep-alive: the answer, then the server closes.
    let old = try rawHTTP("GET /hello.txt HTTP/1.0\r\n\r\n", port: port)
    requests += 1
    connections += 1
    XCTAssertFalse(old.timedOut, "the server kept an HTTP/1.0 connection open")
    XCTAssertEqual(HTTPReply.all(in: old.stdout)?.map(\.body), [Self.hello], old.stdout)

    // /big: 10 MiB, every byte checked through SHA-256.
    let big = try bigDownload(base: base)
    requests += 1
    connections += 1
    XCTAssertEqual(big.status, "200 \(expectedBig.length)", big.stderr)
    XCTAssertEqual(big.sha256, expectedBig.sha256, "/big differs from the bytes Site.bigByte defines")

    // 20 curl processes at once, each fetching /hello.txt and / three times on its connection.
    let clients = concurrently(20) { _ in
      try curl(
        ["-w", "%{http_code} %{num_connects}\n"]
          + Array(repeating: ["\(base)/hello.txt", "\(base)/"], count: 3).flatMap { $0 }, timeout: 60)
    }
    requests += 20 * 6
    connections += 20
    let oneRound = Self.hello + "200 %\n" + indexBody + "200 0\n"
    let expected =
      oneRound.replacingOccurrences(of: "%", with: "1") + oneRound.replacingOccurrences(of: "%", with: "0")
      + oneRound.replacingOccurrences(of: "%", with: "0")
    for (i, client) in clients.enumerated() {
      switch client {
      case .success(let run):
        XCTAssertEqual(run.status, 0, "client \(i): \(run.stderr)")
        XCTAssertEqual(run.stdout, expected, "client \(i)")
      case .failure(let error): XCTFail("client \(i): \(error)")
      }
    }

    let result = boot.waitForEnd(timeout: 40)
    checkGoodEnd(result, apps: ["httpd"])
    // /big's full-size segments went out with their payload read from httpd's own frames.
    let chained = Self.kernelNetCounters(result.lines)?["chained"] ?? 0
    XCTAssertGreaterThan(chained, 7000, "10 MB in 1,460-byte segments: \(result.lines.last { $0.contains("net:") } ?? "")")
    let summary = "[httpd:1] served \(requests) requests on \(connections) connections, \(refused) refused;"
    XCTAssertTrue(result.lines.contains { $0.hasPrefix(summary) }, "expected '\(summary)'\n\(result.log)")
  }

  // MARK: two apps

  /// httpd and tcp-echo in one boot, each on its own address and stack,
  /// serve at once: /big and small pages from httpd while tcp-echo echoes
  /// a megabyte and two smaller streams.
  func testHttpdAndTCPEchoServeAtOnceOnTheirOwnAddresses() throws {
    let expectedBig = try Self.bigFile.get()
    let boot = try NetBoot.start(
      try bench(), apps: ["httpd:3", "tcp-echo:3"], forwards: [.tcp(80, app: "httpd"), .tcp(7, app: "tcp-echo")],
      timeout: 150)
    defer { finish(boot) }
    try waitUntilListening(boot, "[httpd:1] listening on 10.0.2.100:80 (http)")
    try waitUntilListening(boot, "[tcp-echo:2] listening on 10.0.2.120:7 (tcp)")
    let base = "http://127.0.0.1:\(try XCTUnwrap(boot.hostPort(80, app: "httpd")))"
    let echoPort = try XCTUnwrap(boot.hostPort(7, app: "tcp-echo"))
    XCTAssertNil(boot.hostPort(80, app: "tcp-echo"))

    var random = SplitMix64(seed: 0x2A_0005)
    let streams = [random.bytes(1_000_000), random.bytes(70_000), random.bytes(5_000)]
    let work = concurrently(6) { i -> String in
      switch i {
      case 0:
        let big = try bigDownload(base: base)
        return big.status == "200 \(expectedBig.length)" && big.sha256 == expectedBig.sha256
          ? "" : "/big: \(big.status), sha256 \(big.sha256) \(big.stderr)"
      case 1, 2:
        let run = try curl(["\(base)/hello.txt", "\(base)/hello.txt"], timeout: 60)
        return run.stdout == Self.hello + Self.hello ? "" : "hello.txt twice: '\(run.stdout)' \(run.stderr)"
      default:
        let bytes = streams[i - 3]
        let (client, back) = try socatExchange(bytes, port: echoPort, timeout: 90)
        return back == bytes
          ? "" : "echo of \(bytes.count) bytes: \(back.count) came back, timed out \(client.timedOut) \(client.stderr)"
      }
    }
    for (i, outcome) in work.enumerated() {
      switch outcome {
      case .success(let problem): XCTAssertEqual(problem, "", "client \(i)")
      case .failure(let error): XCTFail("client \(i): \(error)")
      }
    }

    let result = boot.waitForEnd(timeout: 40)
    checkGoodEnd(result, apps: ["httpd", "tcp-echo"])
    XCTAssertTrue(
      result.lines.contains { $0.hasPrefix("[httpd:1] served 5 requests on 3 connections, 0 refused;") }, result.log)
    let echoed = streams.map(\.count).reduce(0, +)
    XCTAssertTrue(
      result.lines.contains { $0.hasPrefix("[tcp-echo:2] served 3 connections, echoed \(echoed) bytes;") }, result.log)
  }

  // MARK: hostile frames

  /// A burst of malformed, spoofed and random frames from the injection
  /// link while httpd sends /big: the download stays correct, httpd still
  /// answers curl, its stack still answers ARP, ping and a SYN to a closed
  /// port correctly, the kernel counts the frames for other MACs as having
  /// no owner, and the boot ends good.
  func testHttpdSurvivesABurstOfHostileFrames() throws {
    let expectedBig = try Self.bigFile.get()
    let boot = try NetBoot.start(try bench(), apps: ["httpd:5"], forwards: [.tcp(80)], inject: true, timeout: 150)
    defer { finish(boot) }
    try waitUntilListening(boot, "[httpd:1] listening on 10.0.2.100:80 (http)")
    let base = "http://127.0.0.1:\(try XCTUnwrap(boot.hostPort(80)))"

    let download = Background { try bigDownload(base: base) }
    var random = SplitMix64(seed: 0xBAD_F4A3E5)
    let burst = HostileFrames.burst(&random)
    // Paced a little, so that the burst overlaps the download rather than preceding it.
    for (label, frame) in burst.frames {
      do { try boot.sendFrame(frame) } catch { XCTFail("sending \(label): \(error)") }
      usleep(1_000)
    }
    let big = try download.wait().get()
    XCTAssertEqual(big.status, "200 \(expectedBig.length)", big.stderr)
    XCTAssertEqual(big.sha256, expectedBig.sha256, "/big came back changed during the burst")

    let hello = try curl(["-w", " %{http_code}", "\(base)/hello.txt"])
    XCTAssertEqual(hello.stdout, Self.hello + " 200", hello.stderr)
    let page = try curl(["\(base)/"])
    XCTAssertTrue(page.stdout.contains("exokernel"), page.stdout + page.stderr)

    // The stack still answers on the link itself (the test plays a host at
    // 10.0.2.200). The download's frames are still queued at the tap: gone first.
    boot.discardFrames()
    try boot.sendFrame(HostileFrames.arpRequestFromHost)
    let arpReply = frame(on: boot, within: 10) { HostileFrames.isARPReplyToHost($0) }
    XCTAssertNotNil(arpReply, "no ARP reply from 10.0.2.100 after the burst")
    let pingData = random.bytes(200)
    try boot.sendFrame(HostileFrames.ping(identifier: 0x4242, sequence: 7, data: pingData))
    let pong = frame(on: boot, within: 10) { HostileFrames.isEchoReply($0, identifier: 0x4242, sequence: 7) }
    let echo = try XCTUnwrap(pong, "no ICMP echo reply after the burst")
    XCTAssertTrue(Array(echo[42...].prefix(pingData.count)) == pingData, "the echo reply's data differs")
    XCTAssertEqual(Wire.checksum(Array(echo[14..<34])), 0, "the echo reply's IPv4 header checksum is wrong")
    try boot.sendFrame(HostileFrames.syn(sourcePort: 40_001, destinationPort: 81, seq: 0x1234_5678))
    let reset = frame(on: boot, within: 10) { HostileFrames.isReset($0, from: 81, to: 40_001) }
    let rst = try XCTUnwrap(reset, "no RST for a SYN to closed port 81")
    XCTAssertEqual(Wire.read32(rst, 42), 0x1234_5679, "the RST must acknowledge the SYN (RFC 9293 §3.10.7.1)")

    let result = boot.waitForEnd(timeout: 40)
    checkGoodEnd(result, apps: ["httpd"])
    XCTAssertTrue(
      result.lines.contains { $0.hasPrefix("[httpd:1] served 3 requests on 3 connections, 0 refused;") }, result.log)
    let counters = try XCTUnwrap(Self.kernelNetCounters(result.lines), result.log)
    XCTAssertGreaterThanOrEqual(
      counters["no owner"] ?? 0, burst.toOtherMACs, "frames for other MACs must find no owner\n\(result.log)")
  }

  /// RFC 5227 §2.4: a host that sees an ARP packet claiming its own
  /// address from another MAC must answer by (a), (b) or (c); a static
  /// server defends (c) with a broadcast ARP announcement. Without one, the
  /// conflicting packet also rewrote slirp's ARP cache (slirp is the host's
  /// side of this link), and httpd would be cut off from every host client
  /// until slirp's entry expired.
  func testHttpdDefendsItsAddressAgainstAConflictingARP() throws {
    let boot = try NetBoot.start(try bench(), apps: ["httpd:3"], forwards: [.tcp(80)], inject: true, timeout: 90)
    defer { finish(boot) }
    try waitUntilListening(boot, "[httpd:1] listening on 10.0.2.100:80 (http)")
    let base = "http://127.0.0.1:\(try XCTUnwrap(boot.hostPort(80)))"
    XCTAssertEqual(try curl(["\(base)/hello.txt"]).stdout, Self.hello, "before the conflict")

    try boot.sendFrame(HostileFrames.conflictingARP)
    let announcement = frame(on: boot, within: 3) { HostileFrames.isAnnouncementOfGuest($0) }
    XCTAssertNotNil(announcement, "no broadcast ARP from 02:00:00:00:01:00 for 10.0.2.100 after another MAC claimed it")
    let after = try curl(["\(base)/hello.txt"], timeout: 12)
    XCTAssertEqual(after.stdout, Self.hello, "after the conflict: \(after.stderr)")

    let result = boot.waitForEnd(timeout: 40)
    checkGoodEnd(result, apps: ["httpd"])
  }

  // MARK: helpers

  /// Stops the boot if a failed check left it running, and prints its
  /// console when the test failed (a check's message may not show it).
  private func finish(_ boot: NetBoot) {
    let result = boot.stop()
    if (testRun?.totalFailureCount ?? 0) > 0 {
      print(
        "boot of \(boot.plan.modules.map(\.manifest.name)): \(result.verdict.reason)\n\(result.stderr)\n\(result.log)")
    }
  }

  /// Waits for the app's listening line; the boot's log is the failure message.
  private func waitUntilListening(_ boot: NetBoot, _ text: String, file: StaticString = #filePath, line: UInt = #line)
    throws
  {
    guard boot.waitForLine(containing: text, timeout: 90) != nil else {
      let result = boot.stop()
      XCTFail("no '\(text)': \(result.verdict.reason)\n\(result.stderr)\n\(result.log)", file: file, line: line)
      throw ExoFailure("no listening line", exitStatus: 1)
    }
  }

  /// The boot ended by itself (the apps' idle argument), every app exited
  /// 0, every frame free at boot is free again, and the kernel's network
  /// counters add up and show no spoofing.
  private func checkGoodEnd(_ result: NetBootResult, apps: [String], file: StaticString = #filePath, line: UInt = #line)
  {
    XCTAssertTrue(
      result.verdict.isGood, "\(result.verdict.reason)\n\(result.stderr)\n\(result.log)", file: file, line: line)
    XCTAssertEqual(result.verdict.envs.map(\.name), apps, result.log, file: file, line: line)
    XCTAssertEqual(
      result.verdict.envs.map(\.end), apps.map { _ in .exited(status: 0) }, result.log, file: file, line: line)
    XCTAssertNotNil(result.verdict.framesFreeAtBoot, result.log, file: file, line: line)
    XCTAssertEqual(result.verdict.framesFreeAtEnd, result.verdict.framesFreeAtBoot, result.log, file: file, line: line)
    XCTAssertEqual(result.verdict.framesTotalAtEnd, result.verdict.framesFreeAtBoot, result.log, file: file, line: line)
    guard let net = Self.kernelNetCounters(result.lines) else {
      return XCTFail("no '[exo] net: received ...' line\n\(result.log)", file: file, line: line)
    }
    XCTAssertEqual(
      net["received"], (net["delivered"] ?? 0) + (net["no owner"] ?? 0) + (net["ring full"] ?? 0), "\(net)", file: file,
      line: line)
    XCTAssertEqual(net["refused as spoofed"], 0, "\(net)", file: file, line: line)
  }

  /// `[exo] net: received 13, delivered 13, no owner 0, ring full 0; sent 10, refused as spoofed 0, device full 0, chained 2`
  static func kernelNetCounters(_ lines: [String]) -> [String: Int]? {
    guard let line = lines.last(where: { $0.hasPrefix("[exo] net: received ") }) else { return nil }
    var counters: [String: Int] = [:]
    for item in line.dropFirst("[exo] net: ".count).split(whereSeparator: { $0 == "," || $0 == ";" }) {
      let words = item.split(separator: " ")
      guard let last = words.last, let value = Int(last) else { return nil }
      counters[words.dropLast().joined(separator: " ")] = value
    }
    return counters
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

  /// /big's bytes as Site.bigByte defines them, in a file, with their SHA-256 by sha256sum.
  private static let bigFile: Result<(length: Int, sha256: String), any Error> = Result {
    let length = 10 * 1024 * 1024
    let bytes = [UInt8](unsafeUninitializedCapacity: length) { buffer, count in
      for i in 0..<length { buffer[i] = UInt8(truncatingIfNeeded: (i &* 31) ^ (i >> 11)) }
      count = length
    }
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("exo-big-\(UUID().uuidString)").path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    return (length, try sha256(ofFile: path))
  }
}

// MARK: - host clients

/// curl with a timeout, showing errors (-sS).
private func curl(_ arguments: [String], timeout: Double = 30) throws -> HostClient.Result {
  try HostClient.run("curl", ["-sS", "--max-time", String(Int(timeout) - 5)] + arguments, timeout: timeout)
}

/// Sends `request` with socat and never half-closes (ignoreeof keeps the
/// sending side open), so that socat ends before `timeout` only when the
/// server closes the connection.
private func rawHTTP(_ request: String, port: Int, timeout: Double = 8) throws -> HostClient.Result {
  try HostClient.run(
    "socat", ["-t", "0.2", "STDIO,ignoreeof", "TCP:127.0.0.1:\(port)"], input: request, timeout: timeout)
}

/// /big downloaded to a file: "STATUS SIZE" from curl, and the file's SHA-256.
private func bigDownload(base: String) throws -> (status: String, sha256: String, stderr: String) {
  let path = FileManager.default.temporaryDirectory.appendingPathComponent("exo-big-\(UUID().uuidString)").path
  defer { try? FileManager.default.removeItem(atPath: path) }
  let run = try curl(["-o", path, "-w", "%{http_code} %{size_download}", "\(base)/big"], timeout: 90)
  return (run.stdout, (try? sha256(ofFile: path)) ?? "no file", run.stderr)
}

private func sha256(ofFile path: String) throws -> String {
  let run = try HostClient.run("sha256sum", [path], timeout: 30)
  guard run.status == 0, let hash = run.stdout.split(separator: " ").first else {
    throw ExoFailure("sha256sum \(path) failed: \(run.stderr)", exitStatus: 1)
  }
  return String(hash)
}

/// `bytes` through socat to 127.0.0.1:`port` and what came back. TCP: socat
/// half-closes after the last byte and ends when the echo server closes.
/// UDP: one datagram (the bytes are one read), and socat waits 4 s for replies.
private func socatExchange(_ bytes: [UInt8], port: Int, udp: Bool = false, timeout: Double = 30) throws -> (
  HostClient.Result, [UInt8]
) {
  let target = udp ? "UDP:127.0.0.1:\(port)" : "TCP:127.0.0.1:\(port)"
  return try shellExchange(bytes, "socat -t \(udp ? 4 : 30) -b 65536 - \(target)", timeout: timeout)
}

/// `bytes` through OpenBSD nc (-N: shut down the sending side at the end of the input).
private func netcatExchange(_ bytes: [UInt8], port: Int, timeout: Double) throws -> (HostClient.Result, [UInt8]) {
  try shellExchange(bytes, "nc -N 127.0.0.1 \(port)", timeout: timeout)
}

/// Runs `command` with `bytes` as its input and its output in a file
/// (HostClient's input is text; these bytes are not).
private func shellExchange(_ bytes: [UInt8], _ command: String, timeout: Double) throws -> (HostClient.Result, [UInt8])
{
  let folder = FileManager.default.temporaryDirectory.appendingPathComponent("exo-echo-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: folder) }
  let input = folder.appendingPathComponent("in").path
  let output = folder.appendingPathComponent("out").path
  try Data(bytes).write(to: URL(fileURLWithPath: input))
  let run = try HostClient.run("sh", ["-c", "\(command) < '\(input)' > '\(output)'"], timeout: timeout)
  return (run, Array(FileManager.default.contents(atPath: output) ?? Data()))
}

private func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int {
  (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
}

/// A connected UDP socket on 127.0.0.1, so each reply is seen as one datagram.
private struct UDPClient {
  let socket: LoopbackSocket

  init(port: Int) throws {
    socket = try LoopbackSocket(.udp, port: 0)
    var address = LoopbackSocket.loopback(port: port)
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(socket.fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard connected == 0 else { throw ExoFailure("connect to 127.0.0.1:\(port) failed: errno \(errno)", exitStatus: 1) }
  }

  func send(_ bytes: [UInt8]) throws {
    let sent = bytes.withUnsafeBytes { Foundation.send(socket.fd, $0.baseAddress, $0.count, 0) }
    guard sent == bytes.count else { throw ExoFailure("send failed: errno \(errno)", exitStatus: 1) }
  }

  func receive(timeout: Double) -> [UInt8]? {
    var pollFd = pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0)
    guard poll(&pollFd, 1, Int32(timeout * 1000)) > 0 else { return nil }
    var buffer = [UInt8](repeating: 0, count: 65536)
    let count = buffer.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, 0) }
    return count >= 0 ? Array(buffer[..<count]) : nil
  }

  func close() { socket.close() }
}

/// Work on its own thread (a host client blocks it), waited for later.
private final class Background<T: Sendable>: @unchecked Sendable {
  private let done = DispatchSemaphore(value: 0)
  private var result: Result<T, any Error> = .failure(ExoFailure("not finished", exitStatus: 1))

  init(_ work: @escaping @Sendable () throws -> T) {
    let thread = Thread { [self] in
      result = Result { try work() }
      done.signal()
    }
    thread.start()
  }

  func wait() -> Result<T, any Error> {
    done.wait()
    return result
  }
}

/// `body(0..<count)` on as many threads at once (every client really
/// concurrent, which a dispatch queue's width would not promise).
private func concurrently<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) throws -> T) -> [Result<
  T, any Error
>] {
  let workers = (0..<count).map { i in Background { try body(i) } }
  return workers.map { $0.wait() }
}

/// HTTP/1.1 responses in a byte stream, each framed by its Content-Length.
private struct HTTPReply {
  let status: Int
  /// Lower-case names.
  let headers: [String: String]
  let body: String

  /// Every response in `text` in order, or nil if any is malformed; with
  /// `bodies` false (HEAD), heads only.
  static func all(in text: String, bodies: Bool = true) -> [HTTPReply]? {
    var rest = Substring(text)
    var replies: [HTTPReply] = []
    while !rest.isEmpty {
      guard let end = rest.range(of: "\r\n\r\n") else { return nil }
      let lines = rest[..<end.lowerBound].components(separatedBy: "\r\n")
      let statusWords = lines[0].split(separator: " ")
      guard statusWords.count >= 2, statusWords[0] == "HTTP/1.1", let status = Int(statusWords[1]) else { return nil }
      var headers: [String: String] = [:]
      for line in lines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { return nil }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      }
      rest = rest[end.upperBound...]
      var body = ""
      if bodies {
        guard let length = headers["content-length"].flatMap({ Int($0) }) else { return nil }
        let bytes = Array(rest.utf8)
        guard bytes.count >= length else { return nil }
        body = String(decoding: bytes[..<length], as: UTF8.self)
        rest = Substring(String(decoding: bytes[length...], as: UTF8.self))
      }
      replies.append(HTTPReply(status: status, headers: headers, body: body))
    }
    return replies
  }
}

