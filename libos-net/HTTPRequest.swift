// HTTP/1.1 requests as the web server sees them (RFC 9110, RFC 9112): the
// method, the target, the version and the three facts that decide framing
// and the connection's life (keep-alive, Content-Length, Host).
//
// Principles of the HTTP files (HTTP*.swift):
// - The parser is strict on syntax and answers every malformed head with a
//   status to send before closing; it never traps on what a client sends.
// - Nothing is allocated per request: the head is buffered in one 8 KiB
//   array made with the parser, and a request carries its target inline.
// - Bodies are counted and skipped, never stored; chunked request bodies
//   are not implemented (501).

/// Request methods the server tells apart (RFC 9110 §9); methods are
/// case-sensitive, so `get` is `.other`.
public enum HTTPMethod: Equatable, Sendable {
  case get, head, post, put, delete, options, other

  init(token: UnsafeRawBufferPointer) {
    func matches(_ name: StaticString) -> Bool { HTTPCharacters.equal(token, name, ignoringCase: false) }
    switch token.count {
    case 3 where matches("GET"): self = .get
    case 3 where matches("PUT"): self = .put
    case 4 where matches("HEAD"): self = .head
    case 4 where matches("POST"): self = .post
    case 6 where matches("DELETE"): self = .delete
    case 7 where matches("OPTIONS"): self = .options
    default: self = .other
    }
  }
}

/// The versions served; any other `HTTP/x.y` is answered 505.
public enum HTTPVersion: Equatable, Sendable {
  case http10, http11
}

/// One request head, parsed and checked (its body, if any, was skipped).
public struct HTTPRequest: Equatable, Sendable {
  public var method: HTTPMethod
  /// The request-target as sent: origin-form (`/path?query`), or `*` for
  /// OPTIONS. Use `decodedPath()` before looking anything up.
  public var target: HTTPPathBytes
  public var version: HTTPVersion
  /// Whether the connection stays open after the response (RFC 9112 §9.3).
  public var keepAlive: Bool
  /// The body's length; the parser has already skipped that many bytes.
  public var contentLength: Int
  /// Whether a Host field was present (always true for HTTP/1.1).
  public var hasHost: Bool

  public init(
    method: HTTPMethod, target: HTTPPathBytes, version: HTTPVersion, keepAlive: Bool, contentLength: Int,
    hasHost: Bool
  ) {
    self.method = method
    self.target = target
    self.version = version
    self.keepAlive = keepAlive
    self.contentLength = contentLength
    self.hasHost = hasHost
  }

  /// The target's path, percent-decoded and checked (see `HTTPPath`).
  public func decodedPath() -> HTTPPathDecoding { HTTPPath.decode(target) }
}

/// What one `HTTPRequestParser.feed` call ended in.
public enum HTTPParseStep: Equatable, Sendable {
  /// Every byte given was taken (buffered or skipped); feed more.
  case needMore
  /// A whole request, head and body. `consumed` counts the bytes of this
  /// call's input that it took; the rest (a pipelined request) must be fed
  /// again.
  case request(HTTPRequest, consumed: Int)
  /// A malformed request: answer with this status, then close.
  case error(HTTPStatus)
}
