// A counting semaphore between the threads of one env (SemaphoreState);
// each operation is a thread-library critical section.
import LibOSPosix

public final class Semaphore {
  var state: SemaphoreState

  public init(_ count: Int) { state = SemaphoreState(count: count) }

  public func wait() {
    ThreadCritical.enter()
    defer { ThreadCritical.leave() }
    if !state.wait(by: Threads.currentSlot) { Threads.block() }
  }

  public func signal() {
    ThreadCritical.enter()
    defer { ThreadCritical.leave() }
    if let t = state.signal() { Threads.wake(t) }
  }
}
