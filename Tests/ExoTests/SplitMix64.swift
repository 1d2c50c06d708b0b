// The one seeded generator of the property tests: SplitMix64 (Steele, Lea
// and Flood, OOPSLA 2014), the same sequence on every platform and run, so
// a failing seed can be replayed.

struct SplitMix64: RandomNumberGenerator {
  var state: UInt64

  init(state: UInt64) { self.state = state }
  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// 0..<n; 0 when n is not positive.
  mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
  mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
  mutating func bytes(_ n: Int) -> [UInt8] { (0..<max(n, 0)).map { _ in byte() } }
  /// True `percent` times in 100.
  mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
  /// True with probability `p` (0...1).
  mutating func chance(_ p: Double) -> Bool { Double(next() % 1_000_000) / 1_000_000 < p }
  mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}
