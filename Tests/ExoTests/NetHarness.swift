// What boot tests of networked apps share: start a boot in the background
// with port forwards on free host ports (and optionally a raw-frame link and
// a pcap of the NIC), wait for a console line, run host clients (curl, nc,
// socat) with timeouts, send and catch raw frames, then stop QEMU and get the
// whole console and how the boot ended.
//
//   let boot = try NetBoot.start(bench, apps: ["httpd"], forwards: [.tcp(80)])
//   XCTAssertNotNil(boot.waitForLine(containing: "[httpd:1] listening on 10.0.2.100:80", timeout: 30))
//   let page = try HostClient.run("curl", ["-s", "http://127.0.0.1:\(boot.hostPort(80))/"], timeout: 10)
//   let result = boot.stop()
import ExoHost
import Foundation
import XCTest

/// A forward whose host port the harness picks.
struct NetForward: Sendable, Equatable {
  var transport: TransportProtocol
  /// nil when the boot has one networked app.
  var app: String?
  var guestPort: Int

  static func tcp(_ guestPort: Int, app: String? = nil) -> NetForward {
    NetForward(transport: .tcp, app: app, guestPort: guestPort)
  }
  static func udp(_ guestPort: Int, app: String? = nil) -> NetForward {
    NetForward(transport: .udp, app: app, guestPort: guestPort)
  }
}

/// How a background boot ended, with everything it printed.
struct NetBootResult: Sendable {
  let lines: [String]
  let end: QemuEnd
  let stderr: String
  let verdict: BootVerdict
  /// Frames the NIC sent and received, when the boot asked for a pcap.
  let nicFrames: [[UInt8]]
  var log: String { lines.joined(separator: "\n") }
}

/// One boot running in the background.
final class NetBoot: @unchecked Sendable {
  let plan: BootPlan
  /// The host ports chosen for the boot's forwards, in the order given.
  let forwards: [PortForward]
  /// Where to send raw frames and where copies of the network's frames arrive; nil without `inject`.
  let injection: FrameInjection?
  private let tap: FrameTap?
  private let pcapPath: String?

  private let condition = NSCondition()
  private var collected: [String] = []
  private var outcome: Result<QemuRun, any Error>?
  private let stopper = QemuStop()

  private init(plan: BootPlan, injection: FrameInjection?, tap: FrameTap?, pcapPath: String?) {
    self.plan = plan
    self.forwards = plan.machine.network?.forwards ?? []
    self.injection = injection
    self.tap = tap
    self.pcapPath = pcapPath
  }

  deinit { tap?.close() }

  /// Links `apps` (`NAME[:ARG][@SLICES]`) and boots them under TCG in the
  /// background, killed after `timeout` seconds whatever happens. `networks`
  /// gives apps an identity their manifest lacks (to boot hello with a NIC).
  /// Throws before QEMU starts: a refused boot plan, a failed link.
  static func start(
    _ bench: BootBench, apps: [String], forwards: [NetForward] = [], inject: Bool = false, pcap: Bool = false,
    networks: [String: AppNetwork] = [:], timeout: Double = 60
  ) throws -> NetBoot {
    let catalog = AppCatalog(
      manifests: bench.catalog.manifests.map { manifest in
        guard let network = networks[manifest.name] else { return manifest }
        return AppManifest(
          name: manifest.name, frames: manifest.frames, slices: manifest.slices, summary: manifest.summary,
          network: network, filters: manifest.filters)
      })
    var requests: [ForwardRequest] = []
    for forward in forwards {
      let port = forward.transport == .tcp ? try FreePort.tcp() : try FreePort.udp()
      requests.append(ForwardRequest(forward.transport, app: forward.app, hostPort: port, guestPort: forward.guestPort))
    }
    // The tap stays bound from here on, so no frame QEMU copies to it is lost.
    let tap = inject ? try FrameTap() : nil
    let injection = try tap.map { FrameInjection(framesIn: try FreePort.udp(), framesOut: $0.port) }
    let pcapPath =
      pcap
      ? FileManager.default.temporaryDirectory.appendingPathComponent("exo-nic-\(UUID().uuidString).pcap").path : nil
    let plan = try BootPlan(
      root: bench.root, catalog: catalog, apps: try apps.map { try AppChoice.parse($0) }, accel: .tcg,
      network: NetworkOptions(forwards: requests, injection: injection, pcapPath: pcapPath))
    try bench.builder.link(plan.modules)

    let boot = NetBoot(plan: plan, injection: injection, tap: tap, pcapPath: pcapPath)
    let qemu = bench.qemu
    let thread = Thread {
      let outcome = Result {
        try plan.boot(qemu: qemu, timeout: timeout, stop: boot.stopper, onLine: { boot.append($0.text) }).run
      }
      boot.condition.lock()
      boot.outcome = outcome
      boot.condition.broadcast()
      boot.condition.unlock()
    }
    thread.start()
    return boot
  }

  private func append(_ line: String) {
    condition.lock()
    collected.append(line)
    condition.broadcast()
    condition.unlock()
  }

  /// Every console line so far.
  var lines: [String] {
    condition.lock()
    defer { condition.unlock() }
    return collected
  }

  /// The host port forwarded to `guestPort` (of `app`, or of the one networked app).
  func hostPort(_ guestPort: Int, app: String? = nil, _ transport: TransportProtocol = .tcp) -> Int? {
    forwards.first { $0.guestPort == guestPort && $0.transport == transport && (app == nil || $0.app == app) }?.hostPort
  }

  /// The first console line (from the start) that `matches`, or nil when the
  /// boot ended or `timeout` seconds passed without one.
  func waitForLine(timeout: Double, where matches: (String) -> Bool) -> String? {
    let deadline = Date(timeIntervalSinceNow: timeout)
    condition.lock()
    defer { condition.unlock() }
    var seen = 0
    while true {
      while seen < collected.count {
        if matches(collected[seen]) { return collected[seen] }
        seen += 1
      }
      if outcome != nil || !condition.wait(until: deadline) { return nil }
    }
  }

  func waitForLine(containing text: String, timeout: Double) -> String? {
    waitForLine(timeout: timeout) { $0.contains(text) }
  }

  /// Sends one raw Ethernet frame into the guest's network (needs `inject`).
  func sendFrame(_ frame: [UInt8]) throws {
    guard let injection else { throw ExoFailure("the boot has no injection link", exitStatus: 1) }
    try FrameTap.send(frame, to: injection.framesIn)
  }

  /// The next frame seen on the guest's network (sent by slirp, the guest or
  /// the injector's own frames excepted), or nil after `timeout` seconds.
  func receiveFrame(timeout: Double) -> [UInt8]? { tap?.receive(timeout: timeout) }

  /// Forgets the frames seen so far (before sending a probe whose answer a test waits for).
  func discardFrames() { tap?.discardPending() }

  /// Stops QEMU if it still runs and returns how the boot ended.
  func stop() -> NetBootResult {
    stopper.request()
    return waitForEnd(timeout: 30)
  }

  /// Waits for the boot to end by itself (up to `timeout` seconds, then stops it).
  func waitForEnd(timeout: Double) -> NetBootResult {
    let deadline = Date(timeIntervalSinceNow: timeout)
    condition.lock()
    while outcome == nil {
      if !condition.wait(until: deadline) {
        condition.unlock()
        stopper.request()
        condition.lock()
      }
    }
    let outcome = self.outcome!
    condition.unlock()
    let frames =
      pcapPath.flatMap { path -> [[UInt8]]? in
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? Pcap.frames(Array(data))
      } ?? []
    switch outcome {
    case .success(let run):
      return NetBootResult(
        lines: run.lines, end: run.end, stderr: run.stderr, verdict: BootVerdict.judge(lines: run.lines, end: run.end),
        nicFrames: frames)
    case .failure(let error):
      let lines = self.lines
      let end = QemuEnd.exited(status: 1)
      return NetBootResult(
        lines: lines, end: end, stderr: "\(error)", verdict: BootVerdict.judge(lines: lines, end: end),
        nicFrames: frames)
    }
  }
}

/// A host program run to completion or a timeout, as a test's client.
enum HostClient {
  struct Result: Sendable {
    let status: Int32
    let stdout: String
    let stderr: String
    /// Killed at the timeout; `status` is then the signal's 128 + n.
    let timedOut: Bool
  }

  /// Looks `tool` up on PATH (or takes a path), feeds it `input`, and kills
  /// it after `timeout` seconds. It runs in a process group of its own, so a
  /// timeout kills whatever it started as well (Foundation's Process would
  /// wait for an orphaned grandchild that still holds its descriptors).
  static func run(_ tool: String, _ arguments: [String], input: String? = nil, timeout: Double) throws -> Result {
    guard let executable = locate(tool) else {
      throw ExoFailure("\(tool) is not installed (.ci/run installs curl, netcat-openbsd and socat)", exitStatus: 69)
    }
    // Files, not pipes: a chatty client never blocks on a full pipe.
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("exo-client-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let inPath = folder.appendingPathComponent("in").path
    let outPath = folder.appendingPathComponent("out").path
    let errPath = folder.appendingPathComponent("err").path
    try Data((input ?? "").utf8).write(to: URL(fileURLWithPath: inPath))

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, input == nil ? "/dev/null" : inPath, O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
    posix_spawnattr_setpgroup(&attributes, 0)

    let argv = ([executable.path] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, executable.path, &actions, &attributes, argv, environ)
    guard spawned == 0 else { throw ExoFailure("cannot start \(executable.path): error \(spawned)", exitStatus: 69) }

    let deadline = Date(timeIntervalSinceNow: timeout)
    var timedOut = false
    var waitStatus: Int32 = 0
    while true {
      let done = waitpid(pid, &waitStatus, WNOHANG)
      if done == pid || (done < 0 && errno != EINTR) { break }
      if !timedOut && Date() >= deadline {
        timedOut = true
        kill(-pid, SIGKILL)
      }
      usleep(5_000)
    }
    if !timedOut { kill(-pid, SIGKILL) }  // anything it left running in its group
    // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as macros.
    let signal = waitStatus & 0x7f
    let status = signal == 0 ? (waitStatus >> 8) & 0xff : 128 + signal
    func read(_ path: String) -> String {
      String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }
    return Result(status: status, stdout: read(outPath), stderr: read(errPath), timedOut: timedOut)
  }

  static func locate(_ tool: String) -> URL? {
    if tool.contains("/") {
      return FileManager.default.isExecutableFile(atPath: tool) ? URL(fileURLWithPath: tool) : nil
    }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for folder in path.split(separator: ":") {
      let candidate = "\(folder)/\(tool)"
      if FileManager.default.isExecutableFile(atPath: candidate) { return URL(fileURLWithPath: candidate) }
    }
    return nil
  }
}

/// A free port on 127.0.0.1, found by binding port 0: parallel tests do not
/// clash (another process could still take it before QEMU binds it, rarely).
enum FreePort {
  static func tcp() throws -> Int { try find(.tcp) }
  static func udp() throws -> Int { try find(.udp) }

  private static func find(_ transport: TransportProtocol) throws -> Int {
    let socket = try LoopbackSocket(transport, port: 0)
    defer { socket.close() }
    return socket.port
  }
}

/// A bound socket on 127.0.0.1.
struct LoopbackSocket {
  let fd: Int32
  let port: Int

  init(_ transport: TransportProtocol, port: Int) throws {
    let type = transport == .udp ? SOCK_DGRAM : SOCK_STREAM
    let fd = socket(AF_INET, Int32(type.rawValue), 0)
    guard fd >= 0 else { throw ExoFailure("socket() failed: errno \(errno)", exitStatus: 1) }
    var address = Self.loopback(port: port)
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else {
      Foundation.close(fd)
      throw ExoFailure("bind(127.0.0.1:\(port)) failed: errno \(errno)", exitStatus: 1)
    }
    var actual = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &actual) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    self.fd = fd
    self.port = Int(UInt16(bigEndian: actual.sin_port))
  }

  func close() { _ = Foundation.close(fd) }

  static func loopback(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    return address
  }
}

/// A UDP socket on 127.0.0.1 that receives the frames QEMU copies off the
/// guest's network (one datagram per frame), and sends raw frames into it.
final class FrameTap: @unchecked Sendable {
  private let socket: LoopbackSocket
  var port: Int { socket.port }

  /// A 4 MiB receive buffer: the tap sees every frame on the link (a 10 MB
  /// download is 7,000 of them), and a test that reads only afterwards must
  /// not lose the frame it waits for to a full buffer.
  init() throws {
    socket = try LoopbackSocket(.udp, port: 0)
    var size: Int32 = 4 << 20
    setsockopt(socket.fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
  }

  /// Throws away what arrived so far, so that the next `receive` sees only new frames.
  func discardPending() {
    var buffer = [UInt8](repeating: 0, count: 65536)
    while buffer.withUnsafeMutableBytes({ recv(socket.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }) >= 0 {}
  }

  func close() { socket.close() }

  /// The next datagram, or nil after `timeout` seconds.
  func receive(timeout: Double) -> [UInt8]? {
    let deadline = Date(timeIntervalSinceNow: timeout)
    while true {
      let left = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
      var pollFd = pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0)
      let ready = poll(&pollFd, 1, left)
      if ready < 0 && errno == EINTR { continue }
      guard ready > 0 else { return nil }
      var buffer = [UInt8](repeating: 0, count: 65536)
      let count = buffer.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, 0) }
      if count < 0 && errno == EINTR { continue }
      return count >= 0 ? Array(buffer[..<count]) : nil
    }
  }

  /// One datagram to 127.0.0.1:`port`.
  static func send(_ bytes: [UInt8], to port: Int) throws {
    let sender = try LoopbackSocket(.udp, port: 0)
    defer { sender.close() }
    var address = LoopbackSocket.loopback(port: port)
    let sent = bytes.withUnsafeBytes { buffer in
      withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          sendto(sender.fd, buffer.baseAddress, buffer.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
    }
    guard sent == bytes.count else {
      throw ExoFailure("sendto 127.0.0.1:\(port) failed: errno \(errno)", exitStatus: 1)
    }
  }
}

/// The frames of a classic pcap file (what QEMU's filter-dump writes).
enum Pcap {
  struct Malformed: Error {}

  static func frames(_ bytes: [UInt8]) throws -> [[UInt8]] {
    func u32(_ at: Int, _ little: Bool) throws -> Int {
      guard at >= 0, at + 4 <= bytes.count else { throw Malformed() }
      let b = bytes[at..<(at + 4)].map(Int.init)
      return little ? b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24 : b[3] | b[2] << 8 | b[1] << 16 | b[0] << 24
    }
    guard bytes.count >= 24 else { throw Malformed() }
    let little: Bool
    switch try u32(0, true) {
    case 0xA1B2_C3D4: little = true
    case 0xD4C3_B2A1: little = false
    default: throw Malformed()
    }
    var frames: [[UInt8]] = []
    var at = 24
    while at < bytes.count {
      let length = try u32(at + 8, little)
      let start = at + 16
      guard length <= 262_144, start + length <= bytes.count else { throw Malformed() }
      frames.append(Array(bytes[start..<(start + length)]))
      at = start + length
    }
    return frames
  }
}
