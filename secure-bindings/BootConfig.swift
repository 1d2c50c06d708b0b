// Parses an app's boot configuration from its Multiboot module command line.
// The bytes are untrusted: every field is bounded and checked, nothing is copied.

/// A slice of the command line, so the result stays valid without a String.
public struct ByteSpan: Equatable, Sendable {
  public let offset: Int
  public let count: Int

  public init(offset: Int, count: Int) {
    self.offset = offset
    self.count = count
  }

  /// The span's bytes in the buffer it was parsed from.
  public func bytes(in line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: line[offset..<(offset + count)])
  }
}

public struct BootConfig: Equatable, Sendable {
  public static let maxNameLength = 15
  public static let maxArgLength = 64
  public static let maxLineLength = 1024
  public static let framesRange: ClosedRange<UInt64> = 1...65536
  public static let slicesRange: ClosedRange<UInt64> = 1...64

  public var name: ByteSpan
  public var frames: UInt64
  public var slices: UInt64
  public var arg: ByteSpan?

  public init(name: ByteSpan, frames: UInt64, slices: UInt64, arg: ByteSpan? = nil) {
    self.name = name
    self.frames = frames
    self.slices = slices
    self.arg = arg
  }

  /// Space-separated `key=value` tokens; a token without '=' is skipped because
  /// boot loaders put the module path first. A NUL byte ends the line.
  public static func parse(_ cmdline: UnsafeRawBufferPointer) throws(BootConfigError) -> BootConfig {
    // Looking no further than one byte past the limit bounds the work on a huge module.
    var length = 0
    while length < cmdline.count && cmdline[length] != 0 {
      if length == maxLineLength { throw .tooLong }
      length += 1
    }

    var name: ByteSpan? = nil
    var frames: UInt64? = nil
    var slices: UInt64? = nil
    var arg: ByteSpan? = nil
    var at = 0
    while at < length {
      if cmdline[at] == space {
        at += 1
        continue
      }
      let start = at
      var equals = -1
      while at < length && cmdline[at] != space {
        if equals < 0 && cmdline[at] == UInt8(ascii: "=") { equals = at }
        at += 1
      }
      guard equals >= 0 else { continue }
      let key = ByteSpan(offset: start, count: equals - start)
      let value = ByteSpan(offset: equals + 1, count: at - equals - 1)
      switch Key(cmdline, key) {
      case .name:
        guard name == nil else { throw .duplicateKey(key) }
        guard value.count >= 1 && value.count <= maxNameLength, all(cmdline, value, isNameByte) else {
          throw .badName
        }
        name = value
      case .frames:
        guard frames == nil else { throw .duplicateKey(key) }
        frames = try number(cmdline, value, in: framesRange)
      case .slices:
        guard slices == nil else { throw .duplicateKey(key) }
        slices = try number(cmdline, value, in: slicesRange)
      case .arg:
        guard arg == nil else { throw .duplicateKey(key) }
        guard value.count >= 1 && value.count <= maxArgLength, all(cmdline, value, isArgByte) else {
          throw .badArg
        }
        arg = value
      case .unknown:
        throw .unknownKey(key)
      }
    }

    guard let name else { throw .missingName }
    guard let frames else { throw .missingFrames }
    guard let slices else { throw .missingSlices }
    return BootConfig(name: name, frames: frames, slices: slices, arg: arg)
  }

  private static let space = UInt8(ascii: " ")

  private enum Key {
    case name, frames, slices, arg, unknown

    init(_ line: UnsafeRawBufferPointer, _ key: ByteSpan) {
      if BootConfig.equals(line, key, "name") {
        self = .name
      } else if BootConfig.equals(line, key, "frames") {
        self = .frames
      } else if BootConfig.equals(line, key, "slices") {
        self = .slices
      } else if BootConfig.equals(line, key, "arg") {
        self = .arg
      } else {
        self = .unknown
      }
    }
  }

  private static func equals(_ line: UnsafeRawBufferPointer, _ span: ByteSpan, _ word: StaticString) -> Bool {
    guard span.count == word.utf8CodeUnitCount else { return false }
    let expected = word.utf8Start
    for i in 0..<span.count where line[span.offset + i] != expected[i] { return false }
    return true
  }

  /// Decimal only: no sign, no base prefix, no empty value, and overflow is refused, not wrapped.
  private static func number(
    _ line: UnsafeRawBufferPointer, _ span: ByteSpan, in range: ClosedRange<UInt64>
  ) throws(BootConfigError) -> UInt64 {
    guard span.count > 0 else { throw .badNumber(span) }
    var value: UInt64 = 0
    for i in 0..<span.count {
      let byte = line[span.offset + i]
      guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { throw .badNumber(span) }
      let (times10, o1) = value.multipliedReportingOverflow(by: 10)
      let (sum, o2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
      guard !o1 && !o2 else { throw .badNumber(span) }
      value = sum
    }
    guard range.contains(value) else { throw .outOfRange(span) }
    return value
  }

  private static func all(_ line: UnsafeRawBufferPointer, _ span: ByteSpan, _ allowed: (UInt8) -> Bool) -> Bool {
    for i in 0..<span.count where !allowed(line[span.offset + i]) { return false }
    return true
  }

  /// Names appear in every console line, so they are kept to a plain, unambiguous alphabet.
  private static func isNameByte(_ byte: UInt8) -> Bool {
    (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
      || byte == UInt8(ascii: "-")
  }

  private static func isArgByte(_ byte: UInt8) -> Bool {
    (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
      || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ".")
      || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
  }
}

public enum BootConfigError: Error, Equatable, Sendable {
  case missingName
  case missingFrames
  case missingSlices
  case unknownKey(ByteSpan)
  case duplicateKey(ByteSpan)
  case badName
  case badNumber(ByteSpan)
  case outOfRange(ByteSpan)
  case badArg
  case tooLong

  public var reason: StaticString {
    switch self {
    case .missingName: return "no name= in the module command line"
    case .missingFrames: return "no frames= in the module command line"
    case .missingSlices: return "no slices= in the module command line"
    case .unknownKey: return "unknown key in the module command line"
    case .duplicateKey: return "key given twice in the module command line"
    case .badName: return "name must be 1 to 15 of a-z 0-9 -"
    case .badNumber: return "value is not a decimal number"
    case .outOfRange: return "number out of range (frames 1-65536, slices 1-64)"
    case .badArg: return "arg must be 1 to 64 of A-Z a-z 0-9 . _ -"
    case .tooLong: return "module command line longer than 1024 bytes"
    }
  }
}
