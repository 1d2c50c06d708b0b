// Timers across the stack are absolute times in microseconds on the
// caller's monotonic clock; each part reports its earliest one, and the
// stack reports the earliest of those so the caller knows when to tick.

enum Deadline {
  static func earliest(_ a: UInt64?, _ b: UInt64?) -> UInt64? {
    guard let a else { return b }
    guard let b else { return a }
    return min(a, b)
  }
}
