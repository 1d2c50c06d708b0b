// Addresses as people read them: 10.0.2.100 and 02:00:00:00:00:01. Only
// for output and arguments; the data path never builds a String.

extension IPv4Address: CustomStringConvertible {
  public var description: String {
    "\(value >> 24).\((value >> 16) & 0xff).\((value >> 8) & 0xff).\(value & 0xff)"
  }

  /// A dotted quad in ASCII bytes (no leading zeros check beyond range), or nil.
  public init?(dotted bytes: UnsafeRawBufferPointer) {
    var parts: UInt32 = 0
    var value: UInt32 = 0
    var part: UInt32 = 0
    var digits = 0
    for i in 0...bytes.count {
      if i == bytes.count || bytes[i] == UInt8(ascii: ".") {
        guard digits > 0, part <= 255 else { return nil }
        value = value << 8 | part
        parts += 1
        part = 0
        digits = 0
        continue
      }
      guard bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9"), digits < 3 else { return nil }
      part = part * 10 + UInt32(bytes[i] - UInt8(ascii: "0"))
      digits += 1
    }
    guard parts == 4 else { return nil }
    self.init(value)
  }
}

extension MACAddress: CustomStringConvertible {
  public var description: String {
    let hex: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
    var s = ""
    for (i, b) in [bytes.0, bytes.1, bytes.2, bytes.3, bytes.4, bytes.5].enumerated() {
      if i > 0 { s.append(":") }
      s.append(hex[Int(b >> 4)])
      s.append(hex[Int(b & 15)])
    }
    return s
  }
}
