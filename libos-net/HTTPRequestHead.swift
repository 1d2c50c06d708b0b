// The syntax of one complete request head (RFC 9112 §3 request line, §5
// field lines, §6.3 message length): checks every byte and returns the
// request or the status to answer. Framing (finding where the head ends,
// buffering it, skipping the body) is HTTPRequestParser's job.
//
// Choices where the RFCs leave room:
// - A bare LF ends a line as CRLF does (§2.2 allows it); a bare CR is 400.
// - obs-fold, and whitespace before the first field, are 400 (§5.2, §2.2).
// - Only origin-form targets are accepted, and `*` for OPTIONS; absolute-
//   form (which §3.2.2 says a server MUST accept) and authority-form are 400.
// - Content-Length may repeat (as lines or a list) only with one value
//   (§6.3 item 5); any Transfer-Encoding is 501 (§6.1: chunked request
//   bodies are not implemented).

enum HTTPRequestHead {
  /// Why a head was refused.
  struct Rejection: Error {
    var status: HTTPStatus
    static let badRequest = Rejection(status: .badRequest)
  }

  /// `head` runs from the request line through the empty line that ends it.
  static func parse(_ head: UnsafeRawBufferPointer, maxBodyLength: Int) throws(Rejection) -> HTTPRequest {
    typealias C = HTTPCharacters
    let n = head.count
    var i = 0

    // request-line = method SP request-target SP HTTP-version (§3)
    let methodStart = i
    while i < n && C.isToken(head[i]) { i += 1 }
    guard i > methodStart, i < n, head[i] == C.sp else { throw .badRequest }
    let method = HTTPMethod(token: UnsafeRawBufferPointer(rebasing: head[methodStart..<i]))
    i += 1
    let targetStart = i
    while i < n && head[i] > 0x20 && head[i] < 0x7f { i += 1 }
    guard i > targetStart, i < n, head[i] == C.sp else { throw .badRequest }
    let targetEnd = i
    i += 1
    // HTTP-version = "HTTP/" DIGIT "." DIGIT (§2.3), case-sensitive
    guard n - i >= 8, C.equal(UnsafeRawBufferPointer(rebasing: head[i..<(i + 5)]), "HTTP/", ignoringCase: false),
      C.isDigit(head[i + 5]), head[i + 6] == C.dot, C.isDigit(head[i + 7])
    else { throw .badRequest }
    let major = head[i + 5] - 0x30
    let minor = head[i + 7] - 0x30
    i = try lineEnd(head, i + 8)
    let version: HTTPVersion
    switch (major, minor) {
    case (1, 1): version = .http11
    case (1, 0): version = .http10
    default: throw Rejection(status: .httpVersionNotSupported)
    }

    guard targetEnd - targetStart <= HTTPPathBytes.capacity else { throw Rejection(status: .uriTooLong) }
    var target = HTTPPathBytes()
    for k in targetStart..<targetEnd { _ = target.append(head[k]) }
    if target.count == 1 && target[0] == C.asterisk {
      guard method == .options else { throw .badRequest }  // asterisk-form (§3.2.4)
    } else {
      guard target[0] == C.slash else { throw .badRequest }  // origin-form (§3.2.1)
      for k in 0..<target.count where !C.isTargetByte(target[k]) { throw .badRequest }
    }

    // *( field-line CRLF ) CRLF (§2.1, §5)
    var fields = Fields()
    while true {
      guard i < n else { throw .badRequest }
      let first = head[i]
      if first == C.lf || first == C.cr {
        i = try lineEnd(head, i)
        break
      }
      guard !C.isWhitespace(first) else { throw .badRequest }  // obs-fold (§5.2)
      let nameStart = i
      while i < n && C.isToken(head[i]) { i += 1 }
      guard i > nameStart, i < n, head[i] == C.colon else { throw .badRequest }  // no space before ":" (§5.1)
      let name = UnsafeRawBufferPointer(rebasing: head[nameStart..<i])
      i += 1
      while i < n && C.isWhitespace(head[i]) { i += 1 }
      let valueStart = i
      var valueEnd = i
      while i < n && head[i] != C.cr && head[i] != C.lf {
        let b = head[i]
        guard C.isFieldValue(b) else { throw .badRequest }
        i += 1
        if !C.isWhitespace(b) { valueEnd = i }
      }
      i = try lineEnd(head, i)
      try fields.take(name: name, value: UnsafeRawBufferPointer(rebasing: head[valueStart..<valueEnd]))
    }
    guard i == n else { throw .badRequest }

    guard version == .http10 || fields.hostCount == 1 else { throw .badRequest }  // §3.2
    guard !fields.transferEncoding else { throw Rejection(status: .notImplemented) }
    let length = fields.contentLength ?? 0
    guard length <= maxBodyLength else { throw Rejection(status: .contentTooLarge) }
    let keepAlive =
      version == .http11 ? !fields.connectionClose : (fields.connectionKeepAlive && !fields.connectionClose)
    return HTTPRequest(
      method: method, target: target, version: version, keepAlive: keepAlive, contentLength: length,
      hasHost: fields.hostCount > 0)
  }

  /// The index after the CRLF or LF at `i`.
  static func lineEnd(_ head: UnsafeRawBufferPointer, _ i: Int) throws(Rejection) -> Int {
    if i < head.count && head[i] == HTTPCharacters.lf { return i + 1 }
    if i + 1 < head.count && head[i] == HTTPCharacters.cr && head[i + 1] == HTTPCharacters.lf { return i + 2 }
    throw .badRequest
  }

  /// What the fields that matter to framing and the connection said.
  struct Fields {
    var hostCount = 0
    var contentLength: Int? = nil
    var transferEncoding = false
    var connectionClose = false
    var connectionKeepAlive = false

    /// `value` has its surrounding whitespace trimmed already.
    mutating func take(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws(Rejection) {
      typealias C = HTTPCharacters
      if C.equal(name, "host", ignoringCase: true) {
        hostCount += 1
        guard hostCount == 1 else { throw .badRequest }  // §3.2: more than one Host
        for b in value where !C.isHostByte(b) { throw .badRequest }
      } else if C.equal(name, "content-length", ignoringCase: true) {
        try takeContentLength(value)
      } else if C.equal(name, "transfer-encoding", ignoringCase: true) {
        transferEncoding = true
      } else if C.equal(name, "connection", ignoringCase: true) {
        Self.forEachListElement(value) { option in
          if C.equal(option, "close", ignoringCase: true) { connectionClose = true }
          if C.equal(option, "keep-alive", ignoringCase: true) { connectionKeepAlive = true }
        }
      }
    }

    /// Content-Length = 1*DIGIT (RFC 9110 §8.6), or a list of one value
    /// repeated; a value too big for an Int is kept as Int.max (then 413).
    mutating func takeContentLength(_ value: UnsafeRawBufferPointer) throws(Rejection) {
      typealias C = HTTPCharacters
      var i = 0
      while true {
        while i < value.count && C.isWhitespace(value[i]) { i += 1 }
        let digitsStart = i
        var number = 0
        while i < value.count && C.isDigit(value[i]) {
          let digit = Int(value[i] - 0x30)
          number = number > (Int.max - digit) / 10 ? Int.max : number * 10 + digit
          i += 1
        }
        guard i > digitsStart else { throw .badRequest }
        if let seen = contentLength, seen != number { throw .badRequest }
        contentLength = number
        while i < value.count && C.isWhitespace(value[i]) { i += 1 }
        if i == value.count { return }
        guard value[i] == C.comma else { throw .badRequest }
        i += 1
      }
    }

    /// Calls `body` with each element of a comma-separated list, trimmed;
    /// empty elements are skipped (RFC 9110 §5.6.1).
    static func forEachListElement(_ value: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
      var i = 0
      while i <= value.count {
        var end = i
        while end < value.count && value[end] != HTTPCharacters.comma { end += 1 }
        var start = i
        var stop = end
        while start < stop && HTTPCharacters.isWhitespace(value[start]) { start += 1 }
        while stop > start && HTTPCharacters.isWhitespace(value[stop - 1]) { stop -= 1 }
        if stop > start { body(UnsafeRawBufferPointer(rebasing: value[start..<stop])) }
        i = end + 1
      }
    }
  }
}
