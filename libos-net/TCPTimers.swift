// One connection's timers as absolute deadlines on the caller's clock (TCP
// never reads a clock): retransmission (also SYN and SYN-ACK retries) and
// persist, which never run together, the delayed ACK, keep-alive, and
// TIME-WAIT's 2 * MSL.

struct TCPTimers {
  var retransmit: UInt64? = nil
  var persist: UInt64? = nil
  var delayedAck: UInt64? = nil
  var keepAlive: UInt64? = nil
  var timeWait: UInt64? = nil

  var earliest: UInt64? {
    TCPTimers.earlier(
      TCPTimers.earlier(TCPTimers.earlier(retransmit, persist), TCPTimers.earlier(delayedAck, keepAlive)), timeWait)
  }

  static func earlier(_ a: UInt64?, _ b: UInt64?) -> UInt64? {
    guard let a else { return b }
    guard let b else { return a }
    return min(a, b)
  }

  /// `now + delay` without overflowing on a hostile or far-future clock.
  static func after(_ now: UInt64, _ delay: UInt64) -> UInt64 {
    now > UInt64.max - delay ? UInt64.max : now + delay
  }
}
