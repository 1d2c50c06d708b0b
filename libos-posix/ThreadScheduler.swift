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
}
