// Timing samples of one benchmark: rdtsc deltas less the cost of an empty
// rdtsc pair, reported as median and 99th percentile.

struct Samples {
  var values: [UInt64]
  static nonisolated(unsafe) var overhead: UInt64 = 0

  init(capacity: Int) {
    values = []
    values.reserveCapacity(capacity)
  }

  mutating func add(_ start: UInt64, _ end: UInt64) {
    let delta = end &- start
    values.append(delta > Self.overhead ? delta - Self.overhead : 0)
  }

  mutating func add(value: UInt64) { values.append(value) }

  /// (median, p99), by nearest rank.
  func summary() -> (median: UInt64, p99: UInt64) {
    guard !values.isEmpty else { return (0, 0) }
    let sorted = values.sorted()
    let p99 = min(sorted.count - 1, (sorted.count * 99 + 99) / 100 - 1)
    return (sorted[sorted.count / 2], sorted[p99])
  }
}
