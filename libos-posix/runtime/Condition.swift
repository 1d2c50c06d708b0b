// A condition variable: wait releases the mutex and blocks in one step (no
// other thread runs in between: a critical section, so no preemption
// either), and takes the mutex again before returning.
import LibOSPosix

public final class Condition {
  var state = ConditionState()

  public init() {}

  /// Call with `mutex` held; re-check the predicate after it returns.
  public func wait(_ mutex: Mutex) {
    ThreadCritical.enter()
    defer { ThreadCritical.leave() }
    state.wait(by: Threads.currentSlot)
    mutex.unlock()
    Threads.block()
    mutex.lock()
  }

  public func signal() {
    ThreadCritical.enter()
    defer { ThreadCritical.leave() }
    if let t = state.signal() { Threads.wake(t) }
  }

  public func broadcast() {
    ThreadCritical.enter()
    defer { ThreadCritical.leave() }
    for t in state.broadcast() { Threads.wake(t) }
  }
}
