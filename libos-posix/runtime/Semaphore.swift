// A counting semaphore between the threads of one env (SemaphoreState).
import LibOSPosix

public final class Semaphore {
  var state: SemaphoreState

  public init(_ count: Int) { state = SemaphoreState(count: count) }

  public func wait() {
    if !state.wait(by: Threads.currentSlot) { Threads.block() }
  }

  public func signal() {
    if let t = state.signal() { Threads.wake(t) }
  }
}
