// The retransmission timeout estimator of RFC 6298, in integer microseconds:
// SRTT and RTTVAR from samples (§2), exponential backoff on each timeout
// (§5.5) kept until a new sample (Karn's algorithm, §3: the caller never
// samples a retransmitted segment), floor and ceiling from the configuration.

struct TCPRetransmissionTimeout {
  private(set) var srtt: UInt64 = 0
  private(set) var rttvar: UInt64 = 0
  private(set) var hasSample = false
  /// RTO before backoff.
  private(set) var base: UInt64
  private(set) var backoff: UInt32 = 0
  let minimum: UInt64
  let maximum: UInt64
  let granularity: UInt64

  init(initial: UInt64, minimum: UInt64, maximum: UInt64, granularity: UInt64) {
    self.minimum = minimum
    self.maximum = max(maximum, minimum)
    self.granularity = granularity
    base = min(max(initial, minimum), self.maximum)
  }

  /// The timeout to arm now: the base doubled once per backoff, capped.
  var current: UInt64 {
    let shifted = base << UInt64(min(backoff, 24))
    return min(shifted, maximum)
  }

  /// RFC 6298 §2.2 and §2.3; a sample also ends any backoff.
  mutating func sample(_ r: UInt64) {
    if !hasSample {
      srtt = r
      rttvar = r / 2
      hasSample = true
    } else {
      let delta = srtt > r ? srtt - r : r - srtt
      rttvar = rttvar - rttvar / 4 + delta / 4  // (1 - 1/4) RTTVAR + 1/4 |SRTT - R'|
      srtt = srtt - srtt / 8 + r / 8  // (1 - 1/8) SRTT + 1/8 R'
    }
    let candidate = srtt &+ max(granularity, 4 &* rttvar)
    base = min(max(candidate, minimum), maximum)
    backoff = 0
  }

  /// RFC 6298 §5.5: back off the timer.
  mutating func backOff() {
    if current < maximum { backoff += 1 }
  }

  /// RFC 6298 §5.7: after a lost SYN with no sample yet, data starts at 3 s.
  mutating func restartAfterLostSyn() {
    backoff = 0
    if !hasSample { base = min(max(base, 3_000_000), maximum) }
  }

  mutating func resetBackoff() { backoff = 0 }
}
