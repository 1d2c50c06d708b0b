// A mutex between the threads of one env: a thread that finds it taken
// blocks, and unlock hands it to the first waiter (MutexState).
import LibOSPosix

public final class Mutex {
  var state = MutexState()

  public init() {}

  public func lock() {
    if !state.lock(by: Threads.currentSlot) { Threads.block() }
  }

  public func unlock() {
    if let next = state.unlock(by: Threads.currentSlot) { Threads.wake(next) }
  }

  public func withLock<R>(_ body: () -> R) -> R {
    lock()
    let result = body()
    unlock()
    return result
  }
}
