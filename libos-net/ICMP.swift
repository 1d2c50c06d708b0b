// ICMP (RFC 792) as a host needs it: the message types we read and write,
// and the token bucket that limits the errors we send (RFC 1812 §4.3.2.8,
// RFC 1122 §3.2.2 asks that errors be limited). The stack's echo replies
// and unreachable messages are built in NetStackReceive.swift.

public enum ICMPType {
  public static let echoReply: UInt8 = 0
  public static let destinationUnreachable: UInt8 = 3
  public static let echoRequest: UInt8 = 8
  public static let timeExceeded: UInt8 = 11
}

public enum ICMPUnreachableCode {
  public static let protocolUnreachable: UInt8 = 2
  public static let portUnreachable: UInt8 = 3
}

/// At most `burst` errors at once, then one per `interval`.
struct ICMPErrorLimiter {
  let burst: Int
  let interval: UInt64
  private var tokens: Int
  private var refilled: UInt64 = 0

  init(burst: Int, interval: UInt64) {
    self.burst = burst
    self.interval = max(interval, 1)
    tokens = burst
  }

  mutating func allow(now: UInt64) -> Bool {
    if now > refilled {
      let earned = (now - refilled) / interval
      if earned > 0 {
        tokens = earned >= UInt64(burst) ? burst : min(burst, tokens + Int(earned))
        refilled = tokens == burst ? now : refilled + earned * interval
      }
    }
    guard tokens > 0 else { return false }
    tokens -= 1
    return true
  }
}
