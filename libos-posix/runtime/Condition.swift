// A condition variable: wait releases the mutex and blocks in one step (no
// other thread runs in between), and takes the mutex again before returning.
import LibOSPosix

public final class Condition {
  var state = ConditionState()

  public init() {}

  /// Call with `mutex` held; re-check the predicate after it returns.
  public func wait(_ mutex: Mutex) {
    state.wait(by: Threads.currentSlot)
    mutex.unlock()
    Threads.block()
    mutex.lock()
  }

  public func signal() {
    if let t = state.signal() { Threads.wake(t) }
  }

  public func broadcast() {
    for t in state.broadcast() { Threads.wake(t) }
  }
}
