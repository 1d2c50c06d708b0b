// A request target or a decoded path, held inline in 1 KiB (RFC 9112 §3
// leaves the limit to the server; longer targets are answered 414), so a
// parsed request carries its path without a heap allocation.

public struct HTTPPathBytes: Equatable, Sendable {
  public static let capacity = 1024

  private var storage = InlineArray<1024, UInt8>(repeating: 0)
  public private(set) var count = 0

  public init() {}

  /// The bytes of `text`, or nil when they do not fit.
  public init?(_ text: StaticString) {
    let fits = text.withUTF8Buffer { utf8 -> Bool in
      guard utf8.count <= Self.capacity else { return false }
      for b in utf8 { _ = append(b) }
      return true
    }
    guard fits else { return nil }
  }

  /// Adds one byte; false (and nothing added) when full.
  mutating func append(_ byte: UInt8) -> Bool {
    guard count < Self.capacity else { return false }
    storage[count] = byte
    count += 1
    return true
  }

  public subscript(index: Int) -> UInt8 {
    precondition(index >= 0 && index < count, "index outside the path")
    return storage[index]
  }

  public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
    let n = count
    return Swift.withUnsafeBytes(of: storage) { raw in body(UnsafeRawBufferPointer(rebasing: raw[0..<n])) }
  }

  /// A copy in an array (allocates; for logs and tests).
  public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

  /// Whether the bytes are exactly `text`.
  public func equals(_ text: StaticString) -> Bool {
    withUnsafeBytes { HTTPCharacters.equal($0, text, ignoringCase: false) }
  }

  public static func == (a: HTTPPathBytes, b: HTTPPathBytes) -> Bool {
    guard a.count == b.count else { return false }
    for i in 0..<a.count where a.storage[i] != b.storage[i] { return false }
    return true
  }
}
