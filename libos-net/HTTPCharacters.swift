// The byte classes of HTTP/1.1's grammar (RFC 9110 §5.5, §5.6.2; RFC 3986
// §3.3 for the target) and case-insensitive comparison with a literal, so
// the parser never builds a String from a client's bytes.

enum HTTPCharacters {
  static let cr: UInt8 = 0x0d
  static let lf: UInt8 = 0x0a
  static let sp: UInt8 = 0x20
  static let htab: UInt8 = 0x09
  static let colon: UInt8 = 0x3a
  static let comma: UInt8 = 0x2c
  static let slash: UInt8 = 0x2f
  static let dot: UInt8 = 0x2e
  static let percent: UInt8 = 0x25
  static let question: UInt8 = 0x3f
  static let asterisk: UInt8 = 0x2a

  static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
  static func isAlpha(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7a }
  static func isWhitespace(_ b: UInt8) -> Bool { b == sp || b == htab }

  /// A control character that may not appear anywhere in a head (CR and LF
  /// end lines and are checked where they stand; HTAB is whitespace).
  static func isForbiddenControl(_ b: UInt8) -> Bool {
    (b < 0x20 && b != htab && b != cr && b != lf) || b == 0x7f
  }

  /// tchar (RFC 9110 §5.6.2): the bytes of methods and field names.
  static func isToken(_ b: UInt8) -> Bool {
    if isAlpha(b) || isDigit(b) { return true }
    switch b {
    case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2a, 0x2b, 0x2d, 0x2e, 0x5e, 0x5f, 0x60, 0x7c, 0x7e: return true
    default: return false
    }
  }

  /// field-vchar or whitespace (RFC 9110 §5.5); obs-text (0x80 and up) is
  /// allowed, controls are not.
  static func isFieldValue(_ b: UInt8) -> Bool { b == htab || (b >= 0x20 && b != 0x7f) }

  /// unreserved, sub-delims, ":", "@", "/", "?" and "%" (RFC 3986 §3.3,
  /// §3.4): what an origin-form target may hold. "%" is checked for its two
  /// hex digits when the path is decoded.
  static func isTargetByte(_ b: UInt8) -> Bool {
    if isAlpha(b) || isDigit(b) { return true }
    switch b {
    case 0x2d, 0x2e, 0x5f, 0x7e: return true  // - . _ ~
    case 0x21, 0x24, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x3b, 0x3d: return true  // ! $ & ' ( ) * + , ; =
    case 0x3a, 0x40, 0x2f, 0x3f, 0x25: return true  // : @ / ? %
    default: return false
    }
  }

  /// What a Host value may hold: a reg-name, an IP literal in brackets and
  /// a port (RFC 9110 §7.2, RFC 3986 §3.2.2).
  static func isHostByte(_ b: UInt8) -> Bool {
    if isAlpha(b) || isDigit(b) { return true }
    switch b {
    case 0x2d, 0x2e, 0x5f, 0x7e: return true
    case 0x21, 0x24, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x3b, 0x3d: return true
    case 0x3a, 0x25, 0x5b, 0x5d: return true  // : % [ ]
    default: return false
    }
  }

  static func hexValue(_ b: UInt8) -> UInt8? {
    if isDigit(b) { return b - 0x30 }
    let lower = b | 0x20
    if lower >= 0x61 && lower <= 0x66 { return lower - 0x61 + 10 }
    return nil
  }

  /// Whether `bytes` spell `text`; with `ignoringCase`, ASCII letters match
  /// either case (`text` is written in lower case).
  static func equal(_ bytes: UnsafeRawBufferPointer, _ text: StaticString, ignoringCase: Bool) -> Bool {
    text.withUTF8Buffer { expected in
      guard expected.count == bytes.count else { return false }
      for i in 0..<bytes.count {
        var b = bytes[i]
        if ignoringCase && isAlpha(b) { b |= 0x20 }
        if b != expected[i] { return false }
      }
      return true
    }
  }
}
