// Sequence numbers: 32-bit values compared modulo 2^32 (RFC 9293 §3.4), so
// every comparison stays right across the wrap. All sequence arithmetic in
// TCP goes through this type; a bare UInt32 comparison would break at 2^32.

public struct TCPSequence: Equatable, Sendable {
  public var value: UInt32

  public init(_ value: UInt32) { self.value = value }

  @inline(__always)
  public static func + (a: TCPSequence, n: UInt32) -> TCPSequence { TCPSequence(a.value &+ n) }
  @inline(__always)
  public static func - (a: TCPSequence, n: UInt32) -> TCPSequence { TCPSequence(a.value &- n) }
  @inline(__always)
  public static func += (a: inout TCPSequence, n: UInt32) { a.value &+= n }

  /// How far `b` is behind `a`: meaningful when `b <= a`.
  @inline(__always)
  public static func - (a: TCPSequence, b: TCPSequence) -> UInt32 { a.value &- b.value }

  /// a < b when b lies less than 2^31 ahead of a.
  @inline(__always)
  public static func < (a: TCPSequence, b: TCPSequence) -> Bool { Int32(bitPattern: a.value &- b.value) < 0 }
  @inline(__always)
  public static func <= (a: TCPSequence, b: TCPSequence) -> Bool { Int32(bitPattern: a.value &- b.value) <= 0 }
  @inline(__always)
  public static func > (a: TCPSequence, b: TCPSequence) -> Bool { b < a }
  @inline(__always)
  public static func >= (a: TCPSequence, b: TCPSequence) -> Bool { b <= a }

  /// The later of two sequence numbers.
  @inline(__always)
  public static func later(_ a: TCPSequence, _ b: TCPSequence) -> TCPSequence { a < b ? b : a }

  /// a <= self < b, the window test of RFC 9293 §3.4.
  @inline(__always)
  public func isIn(from a: TCPSequence, before b: TCPSequence) -> Bool { a <= self && self < b }
}
