// Round-robin: ready threads run in the order they became ready, each until
// it yields, blocks or (with the slice-start upcall) is preempted. Weights
// are ignored; no ready thread waits for more than the others ahead of it.
//
// The ready queue is a ring of slots linked both ways, and the thread last
// picked (the running one) stays in the ring just after the queue's tail,
// "parked": when it yields it is the tail already, and the head is the
// slot after it. So a yield is one load, `next[running]`, whatever the
// queue holds (with no other thread ready the ring is `running` alone and
// names it again). A parked thread that did not come back through `ready`
// before the next `next()` has blocked, slept or exited: `next` unlinks it.

public struct RoundRobinScheduler: ThreadScheduler {
  /// Each slot's neighbours in the ring; -1 in `after` while not in it.
  private let after: FixedSlots<Int>
  private let before: FixedSlots<Int>
  /// The thread last picked, still linked just after the tail; -1 if none.
  private var parked = -1
  /// The queue's head while no thread is parked (then it follows `parked`).
  private var head = -1
  public private(set) var readyCount = 0

  public init(capacity: Int) {
    after = FixedSlots(repeating: -1, count: capacity)
    before = FixedSlots(repeating: -1, count: capacity)
  }

  /// No slots, nothing allocated: what a global holds until the runtime
  /// makes the real scheduler (so the global is laid out at link time).
  public init() {
    after = FixedSlots()
    before = FixedSlots()
  }

  public var name: StaticString { "rr" }

  public mutating func admit(_ thread: Int, weight: Int) {}

  /// Normally a retired thread is not ready (only a running thread exits,
  /// parked); if it is, it leaves the ring so it is never picked.
  public mutating func retire(_ thread: Int) {
    if thread == parked {
      unpark()
    } else if after[thread] >= 0 {
      if thread == queueHead { head = readyCount > 1 ? after[thread] : -1 }
      unlink(thread)
      readyCount -= 1
    }
  }

  /// The running thread (parked) becomes the tail where it is; any other
  /// joins the tail, just before the parked thread or the head.
  public mutating func ready(_ thread: Int) {
    if thread == parked {
      head = after[thread]
      parked = -1
      readyCount += 1
      return
    }
    precondition(after[thread] < 0, "round-robin: thread ready twice")
    let next = parked >= 0 ? parked : readyCount > 0 ? head : -1
    if next < 0 {
      after[thread] = thread
      before[thread] = thread
      head = thread
    } else {
      let tail = before[next]
      after[tail] = thread
      before[thread] = tail
      after[thread] = next
      before[next] = thread
    }
    readyCount += 1
  }

  /// The head runs and stays linked, parked; a thread parked until now had
  /// given up the CPU without becoming ready, so it leaves the ring.
  public mutating func next() -> Int? {
    if parked >= 0 { unpark() }
    guard readyCount > 0 else { return nil }
    let thread = head
    readyCount -= 1
    parked = thread
    return thread
  }

  /// `running` is the thread this scheduler picked last (the table's
  /// current thread), parked just after the tail: it becomes the tail and
  /// the head runs, by moving the mark along the ring. No other thread is
  /// ready: the ring is `running` alone, which runs again.
  @inline(__always)
  public mutating func rotate(_ running: Int) -> Int {
    assert(running == parked, "round-robin: rotate of a thread it did not pick last")
    let thread = after[unchecked: running]
    parked = thread
    return thread
  }

  /// The head of the queue: after the parked thread if there is one.
  private var queueHead: Int { parked >= 0 ? after[parked] : head }

  private mutating func unpark() {
    let thread = parked
    parked = -1
    head = readyCount > 0 ? after[thread] : -1
    unlink(thread)
  }

  private func unlink(_ thread: Int) {
    let a = after[thread], b = before[thread]
    after[b] = a
    before[a] = b
    after[thread] = -1
    before[thread] = -1
  }
}
