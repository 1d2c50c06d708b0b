// The status line and header fields of the server's responses (RFC 9112
// §4, RFC 9110 §15), written into a caller's buffer without Strings. There
// is no Date field: the images have no wall clock, and RFC 9110 §6.6.1 says
// a server without one must not send it.

public enum HTTPResponseHead {
  /// The longest head for a content type of `typeLength` bytes.
  public static func maxLength(typeLength: Int) -> Int { 162 + typeLength }

  /// Writes `HTTP/1.1 <code> <reason>`, Content-Length, Content-Type
  /// (omitted when `contentType` is empty), Connection, Allow (`GET, HEAD`:
  /// on every 405, as RFC 9110 §15.5.6 requires, and with `extraAllow`, for
  /// an OPTIONS answer) and Server, then the empty line. Returns the bytes
  /// written, or 0 (and the contents of `out` unspecified) when they do not fit.
  public static func write(
    status: HTTPStatus, contentLength: Int, contentType: StaticString, keepAlive: Bool, extraAllow: Bool = false,
    into out: UnsafeMutableRawBufferPointer
  ) -> Int {
    precondition(contentLength >= 0, "negative Content-Length")
    var w = Writer(out: out)
    w.append("HTTP/1.1 ")
    w.append(decimal: status.rawValue)
    w.append(" ")
    w.append(status.reason)
    w.append("\r\nContent-Length: ")
    w.append(decimal: contentLength)
    w.append("\r\n")
    if contentType.utf8CodeUnitCount > 0 {
      w.append("Content-Type: ")
      w.append(contentType)
      w.append("\r\n")
    }
    w.append(keepAlive ? "Connection: keep-alive\r\n" : "Connection: close\r\n")
    if extraAllow || status == .methodNotAllowed { w.append("Allow: GET, HEAD\r\n") }
    w.append("Server: exo-httpd\r\n\r\n")
    return w.overflowed ? 0 : w.count
  }

  private struct Writer {
    let out: UnsafeMutableRawBufferPointer
    var count = 0
    var overflowed = false

    mutating func append(_ byte: UInt8) {
      guard !overflowed, count < out.count else {
        overflowed = true
        return
      }
      out[count] = byte
      count += 1
    }

    mutating func append(_ text: StaticString) {
      text.withUTF8Buffer { utf8 in
        for b in utf8 { append(b) }
      }
    }

    mutating func append(decimal value: Int) {
      var digits = InlineArray<20, UInt8>(repeating: 0)
      var n = 0
      var rest = value
      repeat {
        digits[n] = UInt8(0x30 + rest % 10)
        rest /= 10
        n += 1
      } while rest > 0
      while n > 0 {
        n -= 1
        append(digits[n])
      }
    }
  }
}
