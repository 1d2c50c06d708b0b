// A mutex between the threads of one env: a thread that finds it taken
// blocks, and unlock hands it to the first waiter (MutexState). Each
// operation is a thread-library critical section (no preemption inside).
import LibOSPosix

public final class Mutex {
  var state = MutexState()

  public init() {}

  public func lock() {
    ThreadCritical.enter()
    defer { ThreadCritical.leave() }
    if !state.lock(by: Threads.currentSlot) { Threads.block() }
  }

  public func unlock() {
    ThreadCritical.enter()
    defer { ThreadCritical.leave() }
    if let next = state.unlock(by: Threads.currentSlot) { Threads.wake(next) }
  }

  public func withLock<R>(_ body: () -> R) -> R {
    lock()
    let result = body()
    unlock()
    return result
  }
}
