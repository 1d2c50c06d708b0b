// Initial sequence numbers per RFC 6528: ISN = M + F(4-tuple, secret), with
// M a counter driven by the caller's clock (one tick per 4 µs, as RFC 9293
// §3.4.1's ISN clock) and F SipHash-2-4 keyed from the configured seed.
// Nothing here can read entropy, so the seed is the secret.

struct TCPInitialSequence {
  private let k0: UInt64
  private let k1: UInt64

  init(seed: UInt64) {
    var state = seed
    k0 = TCPInitialSequence.splitMix(&state)
    k1 = TCPInitialSequence.splitMix(&state)
  }

  /// A 64-bit value derived from the seed, for choices that need not be secret.
  static func derived(from seed: UInt64, _ n: Int) -> UInt64 {
    var state = seed ^ 0x5443_505f_504f_5254  // "TCP_PORT"
    var v: UInt64 = 0
    for _ in 0...max(0, n) { v = splitMix(&state) }
    return v
  }

  func isn(
    localAddress: IPv4Address, localPort: UInt16, remoteAddress: IPv4Address, remotePort: UInt16, now: UInt64
  ) -> TCPSequence {
    let m0 = UInt64(localAddress.value) << 32 | UInt64(remoteAddress.value)
    let m1 = UInt64(localPort) << 16 | UInt64(remotePort)
    let f = sipHash(m0, m1)
    return TCPSequence(UInt32(truncatingIfNeeded: f) &+ UInt32(truncatingIfNeeded: now / 4))
  }

  static func splitMix(_ state: inout UInt64) -> UInt64 {
    state &+= 0x9e37_79b9_7f4a_7c15
    var z = state
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
  }

  /// SipHash-2-4 of a 16-byte message given as two little-endian words.
  private func sipHash(_ m0: UInt64, _ m1: UInt64) -> UInt64 {
    var v0 = k0 ^ 0x736f_6d65_7073_6575
    var v1 = k1 ^ 0x646f_7261_6e64_6f6d
    var v2 = k0 ^ 0x6c79_6765_6e65_7261
    var v3 = k1 ^ 0x7465_6462_7974_6573
    func round() {
      v0 &+= v1
      v1 = v1 << 13 | v1 >> 51
      v1 ^= v0
      v0 = v0 << 32 | v0 >> 32
      v2 &+= v3
      v3 = v3 << 16 | v3 >> 48
      v3 ^= v2
      v0 &+= v3
      v3 = v3 << 21 | v3 >> 43
      v3 ^= v0
      v2 &+= v1
      v1 = v1 << 17 | v1 >> 47
      v1 ^= v2
      v2 = v2 << 32 | v2 >> 32
    }
    func compress(_ m: UInt64) {
      v3 ^= m
      round()
      round()
      v0 ^= m
    }
    compress(m0)
    compress(m1)
    compress(UInt64(16) << 56)  // the length byte, no tail
    v2 ^= 0xff
    for _ in 0..<4 { round() }
    return v0 ^ v1 ^ v2 ^ v3
  }
}
