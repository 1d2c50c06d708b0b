// What httpd serves: two small files built into the image, and /big, 10 MB
// whose bytes are computed (byte i is `Site.bigByte(i)`), so that the image
// stays small and a client can check every byte without a copy of the file.
import LibOSNet

enum Site {
  static let bigLength = 10 * 1024 * 1024

  static let index: StaticString = """
    <!doctype html>
    <html><head><title>exo httpd</title></head>
    <body><h1>Served by an exokernel app</h1>
    <p>This page came through the app's own TCP/IP stack, linked into it as a library OS.</p>
    <p><a href="/hello.txt">/hello.txt</a> &middot; <a href="/big">/big</a> (10 MB)</p>
    </body></html>

    """
  static let hello: StaticString = "Hello from httpd on exo!\n"

  enum Resource {
    case text(StaticString, type: StaticString)
    case big
  }

  static func lookup(_ path: HTTPPathBytes) -> Resource? {
    if path.equals("/") || path.equals("/index.html") { return .text(index, type: "text/html; charset=utf-8") }
    if path.equals("/hello.txt") { return .text(hello, type: "text/plain; charset=utf-8") }
    if path.equals("/big") { return .big }
    return nil
  }

  /// Byte `i` of /big: a pattern with a long period that a test recomputes.
  @inline(__always)
  static func bigByte(_ i: Int) -> UInt8 {
    UInt8(truncatingIfNeeded: (i &* 31) ^ (i >> 11))
  }
}
