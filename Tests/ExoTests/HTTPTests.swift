// Host tests of the web server's HTTP/1.1 code: every status the parser
// answers from a crafted request (400, 413, 414, 431, 501, 505) and the
// limits at their exact edges, keep-alive for 1.0 and 1.1, body skipping,
// pipelining, a stream split at every byte boundary, percent-decoding and
// dot-segments, the response heads byte for byte, and a property test that
// feeds thousands of generated and mutated requests whole and in random
// pieces and checks that both give the same answers and every answer is
// well formed.
import XCTest

@testable import LibOSNet


/// What a stream of bytes produced: the requests and the error, in order.
enum HTTPOutcome: Equatable {
  case request(HTTPRequest)
  case error(HTTPStatus)
}

enum HTTPFixture {
  static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

  static func path(_ text: String) -> HTTPPathBytes {
    var p = HTTPPathBytes()
    for b in text.utf8 { XCTAssertTrue(p.append(b)) }
    return p
  }

  /// Feeds `chunks` in order, feeding the rest again after each request,
  /// until an error; checks the feed contract on the way. `pending` says
  /// whether the parser was left inside a request.
  static func run(
    _ chunks: [[UInt8]], parser: inout HTTPRequestParser, file: StaticString = #filePath, line: UInt = #line
  ) -> [HTTPOutcome] {
    var outcomes: [HTTPOutcome] = []
    for chunk in chunks {
      var rest = chunk[...]
      feeding: while true {
        switch Array(rest).withUnsafeBytes({ parser.feed($0) }) {
        case .needMore:
          break feeding
        case .request(let request, let consumed):
          XCTAssertGreaterThanOrEqual(consumed, 1, "a request takes at least one byte", file: file, line: line)
          XCTAssertLessThanOrEqual(consumed, rest.count, file: file, line: line)
          outcomes.append(.request(request))
          rest = rest.dropFirst(max(1, min(consumed, rest.count)))
          if rest.isEmpty { break feeding }
        case .error(let status):
          outcomes.append(.error(status))
          // An error is final whatever comes next.
          let more: [UInt8] = Array("GET".utf8)
          XCTAssertEqual(more.withUnsafeBytes { parser.feed($0) }, .error(status), file: file, line: line)
          return outcomes
        }
      }
    }
    return outcomes
  }

  static func run(_ stream: [UInt8], maxBodyLength: Int = 1 << 20) -> [HTTPOutcome] {
    var parser = HTTPRequestParser(maxBodyLength: maxBodyLength)
    return run([stream], parser: &parser)
  }

  /// The one thing a single request produces, fed whole.
  static func outcome(_ text: String, maxBodyLength: Int = 1 << 20) -> HTTPOutcome? {
    let outcomes = run(bytes(text), maxBodyLength: maxBodyLength)
    return outcomes.count == 1 ? outcomes[0] : nil
  }

  static func request(
    _ method: HTTPMethod = .get, _ target: String = "/", version: HTTPVersion = .http11, keepAlive: Bool = true,
    contentLength: Int = 0, hasHost: Bool = true
  ) -> HTTPOutcome {
    .request(
      HTTPRequest(
        method: method, target: path(target), version: version, keepAlive: keepAlive, contentLength: contentLength,
        hasHost: hasHost))
  }

  static func decode(_ target: String) -> HTTPPathDecoding { HTTPPath.decode(path(target)) }
  static func decoded(_ text: String) -> HTTPPathDecoding { .path(path(text)) }

  static func head(
    _ status: HTTPStatus, length: Int = 0, type: StaticString = "text/plain", keepAlive: Bool = true,
    allow: Bool = false, room: Int = 512
  ) -> String {
    var out = [UInt8](repeating: 0, count: room)
    let n = out.withUnsafeMutableBytes {
      HTTPResponseHead.write(
        status: status, contentLength: length, contentType: type, keepAlive: keepAlive, extraAllow: allow, into: $0)
    }
    return String(decoding: out[0..<n], as: UTF8.self)
  }
}

final class HTTPTests: XCTestCase {
  typealias F = HTTPFixture

  // MARK: requests that parse

  func testSimpleGetIsParsedAndConsumedExactly() {
    let text = F.bytes("GET /index.html?x=1 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\n\r\n")
    var parser = HTTPRequestParser()
    let step = text.withUnsafeBytes { parser.feed($0) }
    guard case .request(let request, let consumed) = step else { return XCTFail("got \(step)") }
    XCTAssertEqual(consumed, text.count)
    XCTAssertEqual(request.method, .get)
    XCTAssertEqual(request.target.bytes, F.bytes("/index.html?x=1"))
    XCTAssertTrue(request.target.equals("/index.html?x=1"))
    XCTAssertEqual(request.version, .http11)
    XCTAssertTrue(request.keepAlive)
    XCTAssertEqual(request.contentLength, 0)
    XCTAssertTrue(request.hasHost)
    XCTAssertEqual(request.decodedPath(), F.decoded("/index.html"))
  }

  func testMethodsAreCaseSensitiveTokens() {
    let methods: [(String, HTTPMethod)] = [
      ("GET", .get), ("HEAD", .head), ("POST", .post), ("PUT", .put), ("DELETE", .delete),
      ("OPTIONS", .options), ("PATCH", .other), ("get", .other), ("Get", .other), ("GETS", .other),
      ("GE", .other), ("M-SEARCH", .other), ("!#$%&'*+-.^_`|~09az", .other),
    ]
    for (name, method) in methods {
      XCTAssertEqual(F.outcome("\(name) / HTTP/1.1\r\nHost: h\r\n\r\n"), F.request(method), name)
    }
  }

  func testOptionsAsteriskAndOriginForm() {
    XCTAssertEqual(F.outcome("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), F.request(.options, "*"))
    XCTAssertEqual(F.outcome("OPTIONS /a HTTP/1.1\r\nHost: h\r\n\r\n"), F.request(.options, "/a"))
    // Every byte RFC 3986 allows in a path and query.
    let target = "/AZaz09-._~!$&'()*+,;=:@/%41?q=/?&x"
    XCTAssertEqual(F.outcome("GET \(target) HTTP/1.1\r\nHost: h\r\n\r\n"), F.request(.get, target))
  }

  func testHTTP10NeedsNoHostAndFieldNamesIgnoreCase() {
    XCTAssertEqual(F.outcome("GET / HTTP/1.0\r\n\r\n"), F.request(version: .http10, keepAlive: false, hasHost: false))
    XCTAssertEqual(
      F.outcome("POST /p HTTP/1.1\r\nhOsT: h\r\nCONTENT-length: 3\r\n\r\nabc"),
      F.request(.post, "/p", contentLength: 3))
    // Values are trimmed of spaces and tabs on both sides; an empty Host is allowed (RFC 9110 §7.2).
    XCTAssertEqual(F.outcome("GET / HTTP/1.1\r\nHost:\r\nContent-Length: \t 0 \t\r\n\r\n"), F.request())
    // obs-text and inner whitespace in an ordinary field are fine.
    XCTAssertEqual(F.outcome("GET / HTTP/1.1\r\nHost: h\r\nX-Y: a \t b\u{e9}\r\n\r\n"), F.request())
  }

  func testBareLFEndsLinesAndLeadingEmptyLinesAreIgnored() {
    XCTAssertEqual(F.outcome("GET / HTTP/1.1\nHost: h\n\n"), F.request())
    XCTAssertEqual(F.outcome("GET / HTTP/1.1\r\nHost: h\n\r\n"), F.request())
    // RFC 9112 §2.2: empty lines before the request line are skipped, and counted as consumed.
    let text = F.bytes("\r\n\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
    var parser = HTTPRequestParser()
    XCTAssertEqual(text.withUnsafeBytes { parser.feed($0) }, .request(HTTPRequest.simple, consumed: text.count))
    // Only empty lines: all taken, still waiting.
    // A one-byte line is a field line, not the end of the head.
    var one = HTTPRequestParser()
    XCTAssertEqual(F.bytes("GET / HTTP/1.1\nHost: h\nX\n").withUnsafeBytes { one.feed($0) }, .needMore)
    XCTAssertEqual(F.bytes("\n").withUnsafeBytes { one.feed($0) }, .error(.badRequest))
    var idle = HTTPRequestParser()
    XCTAssertEqual(F.bytes("\r\n\r\n\n").withUnsafeBytes { idle.feed($0) }, .needMore)
  }

  // MARK: keep-alive (RFC 9112 §9.3)

  func testKeepAliveRules() {
    let cases: [(String, String, Bool)] = [
      ("1.1", "", true),
      ("1.1", "Connection: close\r\n", false),
      ("1.1", "Connection: CLOSE\r\n", false),
      ("1.1", "Connection:   Close  \r\n", false),
      ("1.1", "Connection: keep-alive\r\n", true),
      ("1.1", "Connection: Upgrade\r\n", true),
      ("1.1", "Connection: upgrade, close\r\n", false),
      ("1.1", "Connection: keep-alive\r\nConnection: close\r\n", false),
      ("1.1", "Connection: closed\r\n", true),
      ("1.1", "X-Connection: close\r\n", true),
      ("1.0", "", false),
      ("1.0", "Connection: keep-alive\r\n", true),
      ("1.0", "Connection: Keep-Alive\r\n", true),
      ("1.0", "connection:\tkeep-alive \r\n", true),
      ("1.0", "Connection: foo, , keep-alive\r\n", true),
      ("1.0", "Connection: keep-alive, close\r\n", false),
      ("1.0", "Connection: keep-alives\r\n", false),
      ("1.0", "Connection: close\r\n", false),
    ]
    for (version, fields, keepAlive) in cases {
      let outcome = F.outcome("GET / HTTP/\(version)\r\nHost: h\r\n\(fields)\r\n")
      guard case .request(let request) = outcome else {
        XCTFail("\(version) \(fields): \(String(describing: outcome))")
        continue
      }
      XCTAssertEqual(request.keepAlive, keepAlive, "HTTP/\(version) with \(fields.debugDescription)")
    }
  }

  // MARK: every status the parser answers

  func testBadRequestCases() {
    let host = "Host: h\r\n"
    let cases: [(String, String)] = [
      ("garbage line", "hello\r\n\r\n"),
      ("no target", "GET HTTP/1.1\r\n\(host)\r\n"),
      ("HTTP/0.9 style", "GET /\r\n\r\n"),
      ("two spaces", "GET  / HTTP/1.1\r\n\(host)\r\n"),
      ("tab for space", "GET\t/ HTTP/1.1\r\n\(host)\r\n"),
      ("space before method", " GET / HTTP/1.1\r\n\(host)\r\n"),
      ("trailing space", "GET / HTTP/1.1 \r\n\(host)\r\n"),
      ("lower-case version", "GET / http/1.1\r\n\(host)\r\n"),
      ("two-digit minor", "GET / HTTP/1.10\r\n\(host)\r\n"),
      ("no dot", "GET / HTTP/11\r\n\(host)\r\n"),
      ("short version", "GET / HTTP/1\r\n\(host)\r\n"),
      ("version junk", "GET / HTTP/1.1x\r\n\(host)\r\n"),
      ("method non-token", "G(T / HTTP/1.1\r\n\(host)\r\n"),
      ("no Host in 1.1", "GET / HTTP/1.1\r\n\r\n"),
      ("two Hosts", "GET / HTTP/1.1\r\n\(host)\(host)\r\n"),
      ("two Hosts in 1.0", "GET / HTTP/1.0\r\n\(host)host: h\r\n\r\n"),
      ("Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
      ("Host with a slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
      ("space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n"),
      ("tab before colon", "GET / HTTP/1.1\r\n\(host)X-A\t: 1\r\n\r\n"),
      ("space in name", "GET / HTTP/1.1\r\n\(host)X A: 1\r\n\r\n"),
      ("obs-fold", "GET / HTTP/1.1\r\n\(host)X-A: 1\r\n 2\r\n\r\n"),
      ("obs-fold tab", "GET / HTTP/1.1\r\n\(host)X-A: 1\r\n\t2\r\n\r\n"),
      ("space before first field", "GET / HTTP/1.1\r\n \(host)\r\n"),
      ("no colon", "GET / HTTP/1.1\r\n\(host)X-A 1\r\n\r\n"),
      ("empty name", "GET / HTTP/1.1\r\n\(host): 1\r\n\r\n"),
      ("control in value", "GET / HTTP/1.1\r\n\(host)X-A: a\u{01}b\r\n\r\n"),
      ("NUL in value", "GET / HTTP/1.1\r\n\(host)X-A: a\u{00}b\r\n\r\n"),
      ("DEL in value", "GET / HTTP/1.1\r\n\(host)X-A: a\u{7f}\r\n\r\n"),
      ("escape in target", "GET /\u{1b} HTTP/1.1\r\n\(host)\r\n"),
      ("bare CR in value", "GET / HTTP/1.1\r\n\(host)X-A: a\rb\r\n\r\n"),
      ("bare CR ending request line", "GET / HTTP/1.1\r\r\n\(host)\r\n"),
      ("CR CR LF as the empty line", "GET / HTTP/1.1\r\n\(host)\r\r\n"),
      ("bare CR before the request", "\rGET / HTTP/1.1\r\n\(host)\r\n"),
      ("relative target", "GET index.html HTTP/1.1\r\n\(host)\r\n"),
      ("absolute-form", "GET http://h/ HTTP/1.1\r\n\(host)\r\n"),
      ("authority-form", "CONNECT h:443 HTTP/1.1\r\n\(host)\r\n"),
      ("asterisk for GET", "GET * HTTP/1.1\r\n\(host)\r\n"),
      ("asterisk path", "OPTIONS */ HTTP/1.1\r\n\(host)\r\n"),
      ("pipe in target", "GET /a|b HTTP/1.1\r\n\(host)\r\n"),
      ("quote in target", "GET /a\"b HTTP/1.1\r\n\(host)\r\n"),
      ("fragment in target", "GET /a#b HTTP/1.1\r\n\(host)\r\n"),
      ("braces in target", "GET /{a} HTTP/1.1\r\n\(host)\r\n"),
      ("non-ASCII in target", "GET /\u{e9} HTTP/1.1\r\n\(host)\r\n"),
      ("Content-Length letters", "POST / HTTP/1.1\r\n\(host)Content-Length: abc\r\n\r\n"),
      ("Content-Length negative", "POST / HTTP/1.1\r\n\(host)Content-Length: -1\r\n\r\n"),
      ("Content-Length plus", "POST / HTTP/1.1\r\n\(host)Content-Length: +5\r\n\r\n"),
      ("Content-Length hex", "POST / HTTP/1.1\r\n\(host)Content-Length: 0x10\r\n\r\n"),
      ("Content-Length two numbers", "POST / HTTP/1.1\r\n\(host)Content-Length: 1 2\r\n\r\n"),
      ("Content-Length empty", "POST / HTTP/1.1\r\n\(host)Content-Length:\r\n\r\n"),
      ("Content-Length conflicting list", "POST / HTTP/1.1\r\n\(host)Content-Length: 5, 6\r\n\r\n"),
      ("Content-Length empty element", "POST / HTTP/1.1\r\n\(host)Content-Length: 5,,5\r\n\r\n"),
      ("Content-Length trailing comma", "POST / HTTP/1.1\r\n\(host)Content-Length: 5,\r\n\r\n"),
      (
        "Content-Length conflicting lines",
        "POST / HTTP/1.1\r\n\(host)Content-Length: 5\r\ncontent-length: 4\r\n\r\nabcde"
      ),
    ]
    for (name, text) in cases {
      XCTAssertEqual(F.outcome(text), .error(.badRequest), name)
    }
  }

  func testBinaryGarbageIsRefusedAtItsFirstControlByte() {
    // A TLS ClientHello's first bytes: refused at once, not buffered up to 8 KiB.
    var parser = HTTPRequestParser()
    XCTAssertEqual([UInt8]([0x16, 0x03, 0x01, 0x02]).withUnsafeBytes { parser.feed($0) }, .error(.badRequest))
    var later = HTTPRequestParser()
    XCTAssertEqual(F.bytes("GET / HT").withUnsafeBytes { later.feed($0) }, .needMore)
    XCTAssertEqual([UInt8]([0x00]).withUnsafeBytes { later.feed($0) }, .error(.badRequest))
  }

  func testRepeatedEqualContentLengthIsAccepted() {
    // RFC 9112 §6.3 item 5 allows a list (or repeated lines) of one value.
    XCTAssertEqual(
      F.outcome("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\ncontent-length: 003\r\n\r\nabc"),
      F.request(.post, contentLength: 3))
  }

  func testContentTooLarge() {
    XCTAssertEqual(
      F.outcome("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1048577\r\n\r\n"), .error(.contentTooLarge))
    XCTAssertEqual(
      F.outcome("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999999999\r\n\r\n"),
      .error(.contentTooLarge), "a length past Int.max is too large, not a trap")
    XCTAssertEqual(
      F.outcome("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", maxBodyLength: 10), .error(.contentTooLarge)
    )
    XCTAssertEqual(
      F.outcome("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789", maxBodyLength: 10),
      F.request(.post, contentLength: 10))
    // Exactly the default limit is allowed, and the whole body is skipped.
    let body = [UInt8](repeating: 0x41, count: 1 << 20)
    let stream = F.bytes("PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 1048576\r\n\r\n") + body
    XCTAssertEqual(F.run(stream), [F.request(.put, "/f", contentLength: 1 << 20)])
  }

  func testURITooLong() {
    let target1024 = "/" + String(repeating: "a", count: 1023)
    XCTAssertEqual(F.outcome("GET \(target1024) HTTP/1.1\r\nHost: h\r\n\r\n"), F.request(.get, target1024))
    XCTAssertEqual(F.outcome("GET \(target1024)b HTTP/1.1\r\nHost: h\r\n\r\n"), .error(.uriTooLong))
    // A request line longer than the whole head limit: 414 once 8 KiB have come, before any LF.
    var parser = HTTPRequestParser()
    let long = F.bytes("GET /" + String(repeating: "a", count: 9000))
    XCTAssertEqual(long.withUnsafeBytes { parser.feed($0) }, .error(.uriTooLong))
    // The same bytes in small pieces end the same way.
    var pieces = HTTPRequestParser()
    let chunks = stride(from: 0, to: long.count, by: 100).map { Array(long[$0..<min($0 + 100, long.count)]) }
    XCTAssertEqual(F.run(chunks, parser: &pieces), [.error(.uriTooLong)])
    // 8 KiB with no space is no request line at all.
    XCTAssertEqual(F.run(F.bytes(String(repeating: "A", count: 9000))), [.error(.badRequest)])
  }

  /// A head of exactly `length` bytes: request line, Host, one filler field, empty line.
  func head(length: Int) -> [UInt8] {
    let fixed = "GET / HTTP/1.1\r\nHost: h\r\nX-Fill: \r\n\r\n".utf8.count
    return F.bytes("GET / HTTP/1.1\r\nHost: h\r\nX-Fill: " + String(repeating: "f", count: length - fixed) + "\r\n\r\n")
  }

  func testHeadLimitIsExactly8KiB() {
    XCTAssertEqual(HTTPRequestParser.maxHeadLength, 8192)
    XCTAssertEqual(head(length: 8192).count, 8192)
    XCTAssertEqual(F.run(head(length: 8192)), [F.request()])
    XCTAssertEqual(F.run(head(length: 8193)), [.error(.requestHeaderFieldsTooLarge)])
    // The limit counts the head only, not the empty lines before it.
    XCTAssertEqual(F.run(F.bytes("\r\n\r\n") + head(length: 8192)), [F.request()])
    // Buffered across feeds, the same edges.
    for (length, expected) in [(8192, F.request()), (8193, HTTPOutcome.error(.requestHeaderFieldsTooLarge))] {
      let bytes = head(length: length)
      for size in [1000, 4096, 8191] {
        var parser = HTTPRequestParser()
        let chunks = stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min($0 + size, bytes.count)]) }
        XCTAssertEqual(F.run(chunks, parser: &parser), [expected], "length \(length) in pieces of \(size)")
      }
    }
    // Many short fields add up the same way.
    let many = "GET / HTTP/1.1\r\nHost: h\r\n" + String(repeating: "A: b\r\n", count: 1400) + "\r\n"
    XCTAssertEqual(F.outcome(many), .error(.requestHeaderFieldsTooLarge))
    // A head that cannot have ended within 8 KiB is refused at the byte that passes it.
    var early = HTTPRequestParser()
    XCTAssertEqual(
      Array(head(length: 8193).prefix(8192)).withUnsafeBytes { early.feed($0) }, .error(.requestHeaderFieldsTooLarge))
  }

  func testTransferEncodingIsNotImplemented() {
    XCTAssertEqual(
      F.outcome("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
      .error(.notImplemented))
    XCTAssertEqual(
      F.outcome("POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\nhello"),
      .error(.notImplemented))
    XCTAssertEqual(
      F.outcome("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), .error(.notImplemented))
  }

  func testVersionNotSupported() {
    for version in ["2.0", "0.9", "1.2", "3.0", "9.9", "0.0"] {
      XCTAssertEqual(
        F.outcome("GET / HTTP/\(version)\r\nHost: h\r\n\r\n"), .error(.httpVersionNotSupported), version)
    }
  }

  func testErrorIsFinalUntilReset() {
    var parser = HTTPRequestParser()
    XCTAssertEqual(
      F.bytes("GET / HTTP/2.0\r\n\r\n").withUnsafeBytes { parser.feed($0) }, .error(.httpVersionNotSupported))
    let good = F.bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    XCTAssertEqual(good.withUnsafeBytes { parser.feed($0) }, .error(.httpVersionNotSupported))
    XCTAssertEqual([UInt8]().withUnsafeBytes { parser.feed($0) }, .error(.httpVersionNotSupported))
    parser.reset()
    XCTAssertEqual(good.withUnsafeBytes { parser.feed($0) }, .request(HTTPRequest.simple, consumed: good.count))
    // A reset in the middle of a head or a body forgets it.
    XCTAssertEqual(
      F.bytes("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\nab").withUnsafeBytes { parser.feed($0) },
      .needMore)
    parser.reset()
    XCTAssertEqual(good.withUnsafeBytes { parser.feed($0) }, .request(HTTPRequest.simple, consumed: good.count))
    XCTAssertEqual(F.bytes("GET /x HTT").withUnsafeBytes { parser.feed($0) }, .needMore)
    parser.reset()
    XCTAssertEqual(good.withUnsafeBytes { parser.feed($0) }, .request(HTTPRequest.simple, consumed: good.count))
  }

  // MARK: bodies, pipelining, splits

  func testPipelinedRequestsInOneBuffer() {
    let first = F.bytes("GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
    let second = F.bytes("POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody")
    let third = F.bytes("\r\nHEAD /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    let stream = first + second + third
    var parser = HTTPRequestParser()
    var offset = 0
    var consumedCounts: [Int] = []
    while offset < stream.count {
      let step = Array(stream[offset...]).withUnsafeBytes { parser.feed($0) }
      guard case .request(_, let consumed) = step else { return XCTFail("got \(step) at \(offset)") }
      consumedCounts.append(consumed)
      offset += consumed
    }
    XCTAssertEqual(consumedCounts, [first.count, second.count, third.count])
    XCTAssertEqual(
      F.run(stream),
      [
        F.request(.get, "/a"), F.request(.post, "/b", contentLength: 4),
        F.request(.head, "/c", version: .http10, keepAlive: true, hasHost: false),
      ])
  }

  func testBodyIsSkippedEvenWhenItLooksLikeARequest() {
    let body = F.bytes("GET /evil HTTP/1.1\r\nHost: h\r\n\r\n")
    let stream =
      F.bytes("POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: \(body.count)\r\n\r\n") + body
      + F.bytes("GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
    XCTAssertEqual(F.run(stream), [F.request(.post, "/up", contentLength: body.count), F.request(.get, "/next")])
    // A body may hold any bytes, controls included.
    let binary: [UInt8] = [0, 1, 0x7f, 0xff, 0x0d, 0x0a, 0x0d, 0x0a]
    XCTAssertEqual(
      F.run(F.bytes("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 8\r\n\r\n") + binary),
      [F.request(.put, contentLength: 8)])
  }

  func testHeadAcrossFeedsCountsOnlyThisFeedsBytes() {
    var parser = HTTPRequestParser()
    XCTAssertEqual(F.bytes("GET / HTTP/1.1\r\nHo").withUnsafeBytes { parser.feed($0) }, .needMore)
    let rest = F.bytes("st: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n")
    XCTAssertEqual(rest.withUnsafeBytes { parser.feed($0) }, .request(HTTPRequest.simple, consumed: 9))
    let step = Array(rest[9...]).withUnsafeBytes { parser.feed($0) }
    XCTAssertEqual(
      step,
      .request(
        HTTPRequest(
          method: .get, target: F.path("/2"), version: .http11, keepAlive: true, contentLength: 0, hasHost: true),
        consumed: rest.count - 9))
    // A body that arrives in later feeds: the request comes with its last byte.
    var bodied = HTTPRequestParser()
    XCTAssertEqual(
      F.bytes("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab").withUnsafeBytes { bodied.feed($0) }, .needMore
    )
    XCTAssertEqual(F.bytes("c").withUnsafeBytes { bodied.feed($0) }, .needMore)
    guard case .request(let put, 2) = F.bytes("deGET").withUnsafeBytes({ bodied.feed($0) }) else {
      return XCTFail("the body's last two bytes end the request")
    }
    XCTAssertEqual(put.contentLength, 5)
    XCTAssertEqual(F.bytes("GET").withUnsafeBytes { bodied.feed($0) }, .needMore)
  }

  func testSplitAtEveryByteBoundaryGivesTheSameRequests() {
    let streams: [[UInt8]] = [
      F.bytes(
        "\r\nGET /a%20b?q HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
          + "POST /p HTTP/1.1\nHost: h\ncontent-length: 6\n\nbody\r\n"
          + "OPTIONS * HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
      F.bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\nX: \u{1}\r\n\r\n"),
      F.bytes("GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/2.0\r\n\r\n"),
    ]
    for stream in streams {
      let whole = F.run(stream)
      XCTAssertFalse(whole.isEmpty)
      for cut in 0...stream.count {
        var parser = HTTPRequestParser()
        let outcomes = F.run([Array(stream[..<cut]), Array(stream[cut...])], parser: &parser)
        XCTAssertEqual(outcomes, whole, "cut at \(cut)")
      }
      var byteByByte = HTTPRequestParser()
      XCTAssertEqual(F.run(stream.map { [$0] }, parser: &byteByByte), whole, "one byte at a time")
    }
    XCTAssertEqual(
      F.run(streams[0]),
      [
        F.request(.get, "/a%20b?q", keepAlive: false), F.request(.post, "/p", contentLength: 6),
        F.request(.options, "*", version: .http10, keepAlive: true, hasHost: false),
      ])
    XCTAssertEqual(F.run(streams[1]), [F.request(), .error(.badRequest)])
    XCTAssertEqual(F.run(streams[2]), [F.request(), .error(.httpVersionNotSupported)])
  }

  // MARK: path decoding

  func testPercentDecoding() {
    XCTAssertEqual(F.decode("/"), F.decoded("/"))
    XCTAssertEqual(F.decode("/a%20b"), F.decoded("/a b"))
    XCTAssertEqual(F.decode("/%41%7a%7A"), F.decoded("/Azz"))
    XCTAssertEqual(F.decode("/dir%2Ffile"), F.decoded("/dir/file"))
    XCTAssertEqual(F.decode("/%e2%82%ac"), .path(HTTPPathBytes.of([0x2f, 0xe2, 0x82, 0xac])))
    XCTAssertEqual(F.decode("/x?y=%zz&z=/../"), F.decoded("/x"), "the query is not decoded or checked")
    for bad in ["/a%", "/a%2", "/a%2?x", "/%zz", "/%g0", "/%0g", "/% 1", "/%00", "/a%00b"] {
      XCTAssertEqual(F.decode(bad), .rejected(.badRequest), bad)
    }
    XCTAssertEqual(F.decode("*"), .rejected(.badRequest), "asterisk-form has no path")
    XCTAssertEqual(HTTPPath.decode(HTTPPathBytes()), .rejected(.badRequest))
    // The longest target decodes to the same bytes.
    let long = "/" + String(repeating: "z", count: 1023)
    XCTAssertEqual(F.decode(long), F.decoded(long))
  }

  func testDotSegmentsAreRefusedAfterDecoding() {
    for bad in [
      "/..", "/../", "/../etc/passwd", "/a/..", "/a/../b", "/a/%2e%2e/b", "/a/%2E%2E", "/a/.%2e", "/%2e%2e%2fx",
      "/..%2F", "/a%2F..", "/a//../b",
    ] {
      XCTAssertEqual(F.decode(bad), .rejected(.badRequest), bad)
    }
    for good in ["/...", "/..a", "/a..", "/a..b/c", "/.a/.b", "/a/./b", "/a/.", "/.../x", "/%2e"] {
      guard case .path = F.decode(good) else {
        XCTFail("\(good) should decode")
        continue
      }
    }
    XCTAssertEqual(F.decode("/.%2e."), F.decoded("/..."))
  }

  // MARK: response heads

  func testResponseHeadBytes() {
    XCTAssertEqual(
      F.head(.ok, length: 1234, type: "text/html; charset=utf-8"),
      "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nContent-Type: text/html; charset=utf-8\r\n"
        + "Connection: keep-alive\r\nServer: exo-httpd\r\n\r\n")
    XCTAssertEqual(
      F.head(.notFound, length: 0, keepAlive: false),
      "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nContent-Type: text/plain\r\nConnection: close\r\n"
        + "Server: exo-httpd\r\n\r\n")
    XCTAssertEqual(
      F.head(.methodNotAllowed, length: 19),
      "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 19\r\nContent-Type: text/plain\r\n"
        + "Connection: keep-alive\r\nAllow: GET, HEAD\r\nServer: exo-httpd\r\n\r\n")
    XCTAssertEqual(
      F.head(.ok, type: "", allow: true),
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\nAllow: GET, HEAD\r\nServer: exo-httpd\r\n\r\n")
    XCTAssertEqual(
      F.head(.ok, length: Int.max, type: ""),
      "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\nConnection: keep-alive\r\nServer: exo-httpd\r\n\r\n")
  }

  func testEveryStatusLine() {
    let lines: [(HTTPStatus, String)] = [
      (.ok, "200 OK"), (.badRequest, "400 Bad Request"), (.notFound, "404 Not Found"),
      (.methodNotAllowed, "405 Method Not Allowed"), (.contentTooLarge, "413 Content Too Large"),
      (.uriTooLong, "414 URI Too Long"), (.requestHeaderFieldsTooLarge, "431 Request Header Fields Too Large"),
      (.internalServerError, "500 Internal Server Error"), (.notImplemented, "501 Not Implemented"),
      (.httpVersionNotSupported, "505 HTTP Version Not Supported"),
    ]
    for (status, line) in lines {
      let head = F.head(status, keepAlive: false)
      XCTAssertTrue(head.hasPrefix("HTTP/1.1 \(line)\r\nContent-Length: 0\r\n"), head)
      XCTAssertTrue(
        head.hasSuffix(
          "Connection: close\r\n\(status == .methodNotAllowed ? "Allow: GET, HEAD\r\n" : "")Server: exo-httpd\r\n\r\n"),
        head)
      XCTAssertEqual(String(describing: status.reason), String(line.drop(while: { $0 != " " }).dropFirst()))
    }
  }

  func testResponseHeadThatDoesNotFitWritesNothing() {
    let type: StaticString = "application/octet-stream"
    let full = F.head(.requestHeaderFieldsTooLarge, length: Int.max, type: type, keepAlive: true, allow: true)
    let needed = full.utf8.count
    XCTAssertEqual(
      needed, HTTPResponseHead.maxLength(typeLength: type.utf8CodeUnitCount), "the longest head meets the bound")
    for room in 0..<needed {
      XCTAssertEqual(
        F.head(.requestHeaderFieldsTooLarge, length: Int.max, type: type, allow: true, room: room), "", "room \(room)")
    }
    XCTAssertEqual(F.head(.requestHeaderFieldsTooLarge, length: Int.max, type: type, allow: true, room: needed), full)
  }

  // MARK: property test

  /// A well-formed request and what the parser must make of it.
  struct Generated {
    var bytes: [UInt8]
    var expected: HTTPOutcome
  }

  /// A request, well formed or with one planted fault (a version, a long
  /// target, an oversized head, Transfer-Encoding, a body over the limit),
  /// and the answer it must get.
  func generate(_ random: inout SplitMix64, maxBodyLength: Int) -> Generated {
    let methods: [(String, HTTPMethod)] = [
      ("GET", .get), ("HEAD", .head), ("POST", .post), ("PUT", .put), ("DELETE", .delete), ("OPTIONS", .options),
      ("PATCH", .other), ("BREW", .other),
    ]
    let (methodName, method) = random.pick(methods)
    let pathBytes = Array("abcXYZ019-._~!$&'()*+,;=:@/%".utf8)
    var target = "/"
    let targetLength = random.chance(4) ? 1000 + random.below(100) : random.below(40)
    for _ in 0..<targetLength { target.append(Character(UnicodeScalar(random.pick(pathBytes)))) }
    if random.chance(20) { target += "?k=v&x=/?" }
    if method == .options && random.chance(30) { target = "*" }
    let versionText = random.chance(3) ? random.pick(["2.0", "0.9", "1.2"]) : random.chance(70) ? "1.1" : "1.0"
    let version: HTTPVersion = versionText == "1.0" ? .http10 : .http11
    let eol = random.chance(80) ? "\r\n" : "\n"
    func ows() -> String { random.pick(["", " ", "  ", "\t", " \t"]) }
    func name(_ n: String) -> String { String(n.map { random.chance(50) ? Character($0.uppercased()) : $0 }) }
    var lines: [String] = []
    let hasHost = versionText != "1.0" || random.chance(50)
    if hasHost {
      lines.append(
        name("host") + ":" + ows() + random.pick(["h", "example.com:8080", "[::1]:80", "10.0.2.100", ""]) + ows())
    }
    var close = false
    var keepAliveToken = false
    for _ in 0..<random.below(3) {
      let options = random.pick(["close", "keep-alive", "Upgrade", "close, keep-alive", "foo,,bar", "Keep-Alive"])
      close = close || options.lowercased().contains("close")
      keepAliveToken = keepAliveToken || options.lowercased().contains("keep-alive")
      lines.append(name("connection") + ":" + ows() + options + ows())
    }
    var contentLength = 0
    if random.chance(40) {
      contentLength = random.below(30)
      lines.append(name("content-length") + ":" + ows() + String(contentLength) + ows())
    }
    let chunked = random.chance(3)
    if chunked { lines.append(name("transfer-encoding") + ": chunked") }
    for _ in 0..<random.below(4) {
      var value = ""
      for _ in 0..<random.below(20) { value.append(random.pick(["a", "Z", "9", " ", "\t", ";", "=", "\"", "\u{e9}"])) }
      lines.append(random.pick(["Accept", "X-Thing", "user-agent", "Cookie"]) + ":" + ows() + value)
    }
    if random.chance(3) { lines.append("X-Fill: " + String(repeating: "f", count: 7000 + random.below(1300))) }
    lines.shuffle(using: &random)
    let leading = random.pick(["", "\r\n", "\n"])
    var head = "\(methodName) \(target) HTTP/\(versionText)" + eol
    for line in lines { head += line + random.pick([eol, "\r\n", "\n"]) }
    head += eol
    var bytes = F.bytes(leading + head)
    for _ in 0..<contentLength { bytes.append(random.byte()) }
    // The order in which the parser looks: the head's size while framing,
    // then the request line, the target's length, the fields' meaning.
    let expected: HTTPOutcome
    if head.utf8.count > HTTPRequestParser.maxHeadLength {
      expected = .error(.requestHeaderFieldsTooLarge)
    } else if versionText != "1.0" && versionText != "1.1" {
      expected = .error(.httpVersionNotSupported)
    } else if target.utf8.count > HTTPPathBytes.capacity {
      expected = .error(.uriTooLong)
    } else if chunked {
      expected = .error(.notImplemented)
    } else if contentLength > maxBodyLength {
      expected = .error(.contentTooLarge)
    } else {
      let keepAlive = version == .http11 ? !close : keepAliveToken && !close
      expected = .request(
        HTTPRequest(
          method: method, target: F.path(target), version: version, keepAlive: keepAlive,
          contentLength: contentLength, hasHost: hasHost))
    }
    return Generated(bytes: bytes, expected: expected)
  }

  func mutate(_ bytes: inout [UInt8], _ random: inout SplitMix64) {
    let interesting: [UInt8] = [
      0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x25, 0x2c, 0x00, 0x7f, 0x80, 0xff, 0x2f, 0x2e, 0x30, 0x39,
    ]
    for _ in 0..<(1 + random.below(3)) {
      let at = random.below(bytes.count + 1)
      switch random.below(6) {
      case 0 where at < bytes.count: bytes[at] = random.byte()
      case 1 where at < bytes.count: bytes[at] = random.pick(interesting)
      case 2: bytes.insert(random.pick(interesting), at: at)
      case 3 where at < bytes.count: bytes.remove(at: at)
      case 4: bytes.removeSubrange(at..<bytes.count)
      default:
        let end = min(bytes.count, at + random.below(40))
        bytes.insert(contentsOf: bytes[at..<end], at: at)
      }
    }
  }

  /// What any answer must satisfy, whatever the input.
  func assertWellFormed(_ outcomes: [HTTPOutcome], maxBodyLength: Int, _ message: String) {
    for (k, outcome) in outcomes.enumerated() {
      switch outcome {
      case .request(let r):
        XCTAssertLessThanOrEqual(r.target.count, HTTPPathBytes.capacity, message)
        XCTAssertGreaterThan(r.target.count, 0, message)
        if r.target.count > 0 && r.target[0] != 0x2f {
          XCTAssertTrue(r.target.equals("*") && r.method == .options, message)
        }
        for i in 0..<r.target.count {
          XCTAssertTrue(HTTPCharacters.isTargetByte(r.target[i]) || r.target.equals("*"), message)
        }
        XCTAssertTrue(r.version == .http10 || r.hasHost, "HTTP/1.1 always has Host: \(message)")
        XCTAssertTrue((0...maxBodyLength).contains(r.contentLength), message)
      case .error(let status):
        XCTAssertTrue(
          [
            .badRequest, .contentTooLarge, .uriTooLong, .requestHeaderFieldsTooLarge, .notImplemented,
            .httpVersionNotSupported,
          ].contains(status), message)
        XCTAssertEqual(k, outcomes.count - 1, "nothing after an error: \(message)")
      }
    }
  }

  func testPropertyGeneratedAndMutatedRequests() {
    var random = SplitMix64(state: 0x4854_5450_2f31_2e31)
    var requests = 0
    var errors: [HTTPStatus: Int] = [:]
    for round in 0..<4000 {
      let maxBody = random.pick([1 << 20, 10, 0])
      var stream: [UInt8] = []
      var expected: [HTTPOutcome] = []
      var mutated = false
      for _ in 0..<(1 + random.below(3)) {
        var generated = generate(&random, maxBodyLength: maxBody)
        if random.chance(50) {
          mutate(&generated.bytes, &random)
          mutated = true
        }
        stream += generated.bytes
        // Nothing is read after an error.
        if case .error = expected.last {} else { expected.append(generated.expected) }
      }
      if random.chance(5) {  // pure noise
        stream = (0..<random.below(200)).map { _ in random.byte() }
        mutated = true
      }
      let message = "round \(round): \(String(decoding: stream, as: UTF8.self).debugDescription)"
      let whole = F.run(stream, maxBodyLength: maxBody)
      assertWellFormed(whole, maxBodyLength: maxBody, message)
      if !mutated {
        XCTAssertEqual(whole, expected, message)
      }
      // The same stream in random pieces (empty ones included) gives the same answers.
      var parser = HTTPRequestParser(maxBodyLength: maxBody)
      var chunks: [[UInt8]] = []
      var at = 0
      while at < stream.count {
        let size = random.pick([0, 1, 2, 3, 7, 16, 64, 500])
        chunks.append(Array(stream[at..<min(stream.count, at + size)]))
        at += size
      }
      XCTAssertEqual(F.run(chunks, parser: &parser), whole, message)
      for outcome in whole {
        switch outcome {
        case .request: requests += 1
        case .error(let status): errors[status, default: 0] += 1
        }
      }
    }
    // The generator reaches requests and every status the parser answers.
    XCTAssertGreaterThan(requests, 2000)
    for status in [
      HTTPStatus.badRequest, .contentTooLarge, .uriTooLong, .requestHeaderFieldsTooLarge, .notImplemented,
      .httpVersionNotSupported,
    ] {
      XCTAssertGreaterThan(errors[status] ?? 0, 20, "\(status)")
    }
  }
}

extension HTTPRequest {
  static let simple = HTTPRequest(
    method: .get, target: HTTPFixture.path("/"), version: .http11, keepAlive: true, contentLength: 0, hasHost: true)
}

extension HTTPPathBytes {
  static func of(_ bytes: [UInt8]) -> HTTPPathBytes {
    var p = HTTPPathBytes()
    for b in bytes { _ = p.append(b) }
    return p
  }
}

