// Which of an env's threads runs next: the one interface every libOS thread
// scheduler implements, so that an app picks its policy and the thread table
// stays the same. Threads are named by their slot in the table (0 = main).

public protocol ThreadScheduler {
  /// A short name for output (`rr`, `stride`).
  var name: StaticString { get }
  /// `thread` exists from now on with `weight` (tickets, priority: the
  /// policy's meaning); it is not yet ready.
  mutating func admit(_ thread: Int, weight: Int)
  /// `thread` is gone; its slot may be admitted again.
  mutating func retire(_ thread: Int)
  /// `thread` may run: it was created, woken, yielded or preempted.
  mutating func ready(_ thread: Int)
  /// The ready thread to run now, no longer counted as ready; nil when none is.
  mutating func next() -> Int?
  /// The running thread yields: it stays ready and the thread to run now is
  /// picked, maybe `running` again. Exactly `ready(running)` then `next()!`,
  /// in one step: the yield's fast path, which a policy may make cheaper.
  /// `running` is the thread this scheduler picked last (the thread table
  /// picks main first for this reason).
  mutating func rotate(_ running: Int) -> Int
}

extension ThreadScheduler {
  public mutating func rotate(_ running: Int) -> Int {
    ready(running)
    return next()!
  }
}
