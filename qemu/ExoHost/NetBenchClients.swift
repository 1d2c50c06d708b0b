// The host clients `exo bench net` drives the network apps with, each on
// 127.0.0.1 through QEMU's port forwards and each bounded by timeouts:
// UDP round trips (one datagram in flight, numbered, so a late echo is never
// taken for the next), a TCP bulk stream whose echo is checked byte for
// byte, and an HTTP load generator (wrk, else ab, else a keep-alive client
// of its own).
import Foundation

enum NetBenchClient {
  struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
  }

  // MARK: UDP

  /// Round trips of `size`-byte datagrams in microseconds: `warmUp` first
  /// (not kept), then `count` kept. A datagram without its echo in `timeout`
  /// seconds is lost; more than a tenth lost ends the run.
  static func udpRoundTrips(
    port: Int, count: Int, warmUp: Int, size: Int = 64, timeout: Double = 2
  ) throws -> (microseconds: [Double], lost: Int) {
    let socket = try ConnectedSocket(udpPort: port)
    defer { socket.close() }
    var samples: [Double] = []
    var lost = 0
    let clock = ContinuousClock()
    for i in 0..<(warmUp + count) {
      var datagram = [UInt8](repeating: UInt8(i & 0x7f), count: max(size, 8))
      withUnsafeBytes(of: UInt64(i).littleEndian) { datagram.replaceSubrange(0..<8, with: $0) }
      let start = clock.now
      try socket.sendAll(datagram)
      let deadline = Date(timeIntervalSinceNow: timeout)
      var answered = false
      while let reply = socket.receive(deadline: deadline) {
        if reply == datagram {
          answered = true
          break
        }
      }
      if answered {
        if i >= warmUp { samples.append(microseconds(clock.now - start)) }
      } else if i >= warmUp {
        lost += 1
        guard lost * 10 <= count else { throw Failure("\(lost) of \(i + 1 - warmUp) datagrams got no echo in \(timeout) s") }
      }
    }
    return (samples, lost)
  }

  /// Sends `datagram` and waits for its echo; false when none came in `timeout` seconds.
  static func udpExchange(port: Int, _ datagram: [UInt8], timeout: Double) throws -> Bool {
    let socket = try ConnectedSocket(udpPort: port)
    defer { socket.close() }
    try socket.sendAll(datagram)
    let deadline = Date(timeIntervalSinceNow: timeout)
    while let reply = socket.receive(deadline: deadline) {
      if reply == datagram { return true }
    }
    return false
  }

  /// Sends one datagram and does not wait (`quit`).
  static func udpSend(port: Int, _ datagram: [UInt8]) throws {
    let socket = try ConnectedSocket(udpPort: port)
    defer { socket.close() }
    try socket.sendAll(datagram)
  }

  // MARK: TCP

  /// Streams `bytes` bytes of a pattern through the echo server and checks
  /// every byte that comes back. Returns the seconds each `chunk` bytes of
  /// echo took to arrive, and the whole stream's seconds.
  static func tcpBulk(port: Int, bytes: Int, chunk: Int = 1 << 20, timeout: Double = 30) throws
    -> (chunkSeconds: [Double], totalSeconds: Double)
  {
    let socket = try ConnectedSocket(tcpPort: port, timeout: timeout)
    defer { socket.close() }
    let pattern: @Sendable (Int) -> UInt8 = { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
    let clock = ContinuousClock()
    let start = clock.now
    let writeError = LockedBox<String?>(nil)
    let writer = Thread {
      var block = [UInt8](repeating: 0, count: 65536)
      var sent = 0
      while sent < bytes {
        let n = min(block.count, bytes - sent)
        for j in 0..<n { block[j] = pattern(sent + j) }
        do { try socket.sendAll(Array(block[0..<n])) } catch {
          writeError.value = "\(error)"
          return
        }
        sent += n
      }
    }
    writer.start()
    var received = 0
    var chunkStart = start
    var chunkSeconds: [Double] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while received < bytes {
      let n = buffer.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, 0) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else {
        throw Failure(
          n == 0 ? "the echo closed after \(received) of \(bytes) bytes"
            : "no echo for \(timeout) s after \(received) of \(bytes) bytes" + (writeError.value.map { " (send: \($0))" } ?? ""))
      }
      for j in 0..<n where buffer[j] != pattern(received + j) {
        throw Failure("byte \(received + j) came back as \(buffer[j]), sent \(pattern(received + j))")
      }
      let before = received / chunk
      received += n
      if received / chunk > before || received == bytes {
        let now = clock.now
        chunkSeconds.append(seconds(now - chunkStart))
        chunkStart = now
      }
    }
    return (chunkSeconds, seconds(clock.now - start))
  }

  // MARK: HTTP

  /// Which load generator gave an HTTP figure.
  enum HTTPClient: String, Sendable {
    case wrk, ab, builtIn = "built-in"
  }

  /// Requests per second for `url` with `connections` keep-alive
  /// connections over `duration` seconds, from the first tool installed.
  static func httpRate(url: String, connections: Int, duration: Int) throws -> (rate: Double, client: HTTPClient) {
    if let wrk = Subprocess.locate("wrk") {
      let out = try run(
        wrk, ["-t1", "-c\(connections)", "-d\(duration)s", "--timeout", "5s", url], timeout: Double(duration + 30))
      guard let rate = number(after: "Requests/sec:", in: out) else { throw Failure("wrk printed no rate: \(out)") }
      if let errors = out.range(of: "Non-2xx or 3xx responses:") { throw Failure("wrk: \(out[errors.lowerBound...])") }
      return (rate, .wrk)
    }
    if let ab = Subprocess.locate("ab") {
      let out = try run(
        ab, ["-k", "-q", "-c", "\(connections)", "-t", "\(duration)", "-n", "1000000", "-s", "5", url],
        timeout: Double(duration + 30))
      guard let rate = number(after: "Requests per second:", in: out) else { throw Failure("ab printed no rate: \(out)") }
      return (rate, .ab)
    }
    return (try builtInRate(url: url, connections: connections, duration: Double(duration)), .builtIn)
  }

  /// `connections` threads, each one keep-alive connection sending GETs one
  /// at a time and reading each reply by its Content-Length.
  static func builtInRate(url: String, connections: Int, duration: Double) throws -> Double {
    guard let parsed = URL(string: url), let port = parsed.port else { throw Failure("cannot read \(url)") }
    let request = Array("GET \(parsed.path) HTTP/1.1\r\nHost: exo\r\n\r\n".utf8)
    let done = LockedBox(0)
    let failure = LockedBox<String?>(nil)
    let end = Date(timeIntervalSinceNow: duration)
    let group = DispatchGroup()
    for _ in 0..<connections {
      group.enter()
      Thread {
        defer { group.leave() }
        do {
          let socket = try ConnectedSocket(tcpPort: port, timeout: 5)
          defer { socket.close() }
          var pending: [UInt8] = []
          while Date() < end {
            try socket.sendAll(request)
            try readReply(socket, &pending)
            done.update { $0 += 1 }
          }
        } catch { failure.value = "\(error)" }
      }.start()
    }
    guard group.wait(timeout: .now() + duration + 30) == .success else { throw Failure("HTTP clients did not finish") }
    if let message = failure.value { throw Failure("HTTP client: \(message)") }
    return Double(done.value) / duration
  }

  /// Reads one reply (headers, then Content-Length bytes) off `socket`.
  private static func readReply(_ socket: ConnectedSocket, _ pending: inout [UInt8]) throws {
    let separator: [UInt8] = [13, 10, 13, 10]
    var buffer = [UInt8](repeating: 0, count: 16384)
    func fill() throws {
      let n = buffer.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, 0) }
      guard n > 0 else { throw Failure(n == 0 ? "the server closed" : "no reply in time") }
      pending += buffer[0..<n]
    }
    var headerEnd: Int?
    while headerEnd == nil {
      headerEnd = pending.indices.dropLast(3).first { pending[$0..<($0 + 4)].elementsEqual(separator) }
      if headerEnd == nil { try fill() }
    }
    let head = String(decoding: pending[0..<headerEnd!], as: UTF8.self)
    guard head.hasPrefix("HTTP/1.1 200"),
      let length = head.split(separator: "\r\n").first(where: { $0.lowercased().hasPrefix("content-length:") })
        .flatMap({ Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) })
    else { throw Failure("unexpected reply: \(head.prefix(80))") }
    let total = headerEnd! + 4 + length
    while pending.count < total { try fill() }
    pending.removeFirst(total)
  }

  /// The number after `label` in a tool's output (`Requests/sec:   1234.56`).
  static func number(after label: String, in text: String) -> Double? {
    guard let range = text.range(of: label) else { return nil }
    return Double(text[range.upperBound...].drop { $0 == " " || $0 == "\t" }.prefix { $0.isNumber || $0 == "." })
  }

  private static func run(_ tool: URL, _ arguments: [String], timeout: Double) throws -> String {
    let result = try Subprocess.run(tool, arguments, timeout: timeout)
    guard result.status == 0 else {
      throw Failure("\(tool.lastPathComponent) exited \(result.status): \(result.output.suffix(400))")
    }
    return result.output
  }

  static func microseconds(_ duration: Duration) -> Double { BootBenchmark.milliseconds(duration) * 1000 }
  static func seconds(_ duration: Duration) -> Double { BootBenchmark.milliseconds(duration) / 1000 }
}

/// A value several threads share.
final class LockedBox<Value>: @unchecked Sendable {
  private let lock = NSLock()
  private var stored: Value
  init(_ value: Value) { stored = value }
  var value: Value {
    get { lock.withLock { stored } }
    set { lock.withLock { stored = newValue } }
  }
  func update(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
}

/// A socket connected to 127.0.0.1 whose reads and writes give up after `timeout` seconds.
struct ConnectedSocket: @unchecked Sendable {
  let fd: Int32

  init(udpPort port: Int) throws { try self.init(SOCK_DGRAM, port: port, timeout: 5) }
  init(tcpPort port: Int, timeout: Double) throws { try self.init(SOCK_STREAM, port: port, timeout: timeout) }

  private init(_ type: __socket_type, port: Int, timeout: Double) throws {
    let fd = socket(AF_INET, Int32(type.rawValue), 0)
    guard fd >= 0 else { throw NetBenchClient.Failure("socket() failed: errno \(errno)") }
    var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
      let error = errno
      Foundation.close(fd)
      throw NetBenchClient.Failure("connect(127.0.0.1:\(port)) failed: errno \(error)")
    }
    self.fd = fd
  }

  func close() { _ = Foundation.close(fd) }

  func sendAll(_ bytes: [UInt8]) throws {
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { throw NetBenchClient.Failure("send failed: errno \(errno)") }
      offset += n
    }
  }

  /// The next datagram, or nil at `deadline`.
  func receive(deadline: Date) -> [UInt8]? {
    while true {
      let left = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
      var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      let ready = poll(&poller, 1, left)
      if ready < 0 && errno == EINTR { continue }
      guard ready > 0 else { return nil }
      var buffer = [UInt8](repeating: 0, count: 65536)
      let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n < 0 && (errno == EINTR || errno == ECONNREFUSED) { continue }
      return n >= 0 ? Array(buffer[..<n]) : nil
    }
  }
}
