// A counting semaphore. A signal with waiters passes its unit straight to
// the first waiter instead of raising the count, so the woken thread need
// not compete for it again.

public struct SemaphoreState: Sendable {
  public private(set) var count: Int
  public private(set) var waiters = WaitQueue()

  public init(count: Int) {
    precondition(count >= 0)
    self.count = count
  }

  /// True when `thread` took a unit; false when it was queued and must block
  /// (it holds a unit when woken).
  public mutating func wait(by thread: Int) -> Bool {
    if count > 0 {
      count -= 1
      return true
    }
    waiters.push(thread)
    return false
  }

  /// Returns the waiter that received the unit, to be woken.
  public mutating func signal() -> Int? {
    if let t = waiters.pop() { return t }
    count += 1
    return nil
  }
}
