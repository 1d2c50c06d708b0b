// A mutex's state: the owner and the threads waiting. Unlock hands the mutex
// straight to the first waiter, so a woken thread owns it without racing
// the others (and a stream of lockers cannot starve it).

public struct MutexState: Sendable {
  public private(set) var owner: Int? = nil
  public private(set) var waiters = WaitQueue()

  public init() {}

  /// True when `thread` now owns the mutex; false when it was queued and
  /// must block (it owns the mutex when woken).
  public mutating func lock(by thread: Int) -> Bool {
    precondition(owner != thread, "mutex locked twice by one thread")
    if owner == nil {
      owner = thread
      return true
    }
    waiters.push(thread)
    return false
  }

  /// Releases the mutex; returns the waiter that now owns it, to be woken.
  public mutating func unlock(by thread: Int) -> Int? {
    precondition(owner == thread, "mutex unlocked by a thread that does not own it")
    owner = waiters.pop()
    return owner
  }
}
