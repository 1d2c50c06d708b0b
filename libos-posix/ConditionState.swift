// A condition variable's waiters. Waiting means: join the queue, release the
// mutex, block; after the wake, take the mutex again and re-check the
// predicate (Mesa semantics: a signal is a hint, not a handover).

public struct ConditionState: Sendable {
  public private(set) var waiters = WaitQueue()

  public init() {}

  public mutating func wait(by thread: Int) { waiters.push(thread) }

  /// The waiter to wake, if any.
  public mutating func signal() -> Int? { waiters.pop() }

  /// Every waiter, in the order they waited.
  public mutating func broadcast() -> [Int] {
    var woken: [Int] = []
    while let t = waiters.pop() { woken.append(t) }
    return woken
  }
}
