// The summary figures every benchmark reports: the median and the 99th
// percentile (nearest rank) of its samples.

public struct BenchStatistics: Sendable, Equatable {
  public let median: Double
  public let p99: Double
  public let count: Int

  public init?(_ samples: [Double]) {
    guard !samples.isEmpty else { return nil }
    let sorted = samples.sorted()
    let middle = sorted.count / 2
    median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    // Nearest rank: the smallest sample at or above 99 % of them.
    let rank = Int((0.99 * Double(sorted.count)).rounded(.up))
    p99 = sorted[max(0, rank - 1)]
    count = sorted.count
  }
}
