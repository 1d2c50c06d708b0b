// The libOS's thread table: each thread's state, who waits to join it, when
// sleepers wake, and the scheduler that picks among the ready. Pure state:
// the runtime switches stacks when `pickNext` names another thread, so the
// same logic runs in the image and in host tests.

public enum ThreadState: Equatable, Sendable {
  case free, ready, running, blocked, sleeping, exited
}

/// What the runtime does after the running thread gave up the CPU.
public enum NextStep: Equatable, Sendable {
  /// Run this thread (it may be the one that was running).
  case run(Int)
  /// Nothing is ready but some thread sleeps until this TSC value: give the
  /// env's slice away and ask again.
  case idle(until: UInt64)
  /// Every live thread is blocked: nothing in the env can wake any of them.
  case deadlock
}

public enum JoinStep: Equatable, Sendable {
  /// The thread had exited; its slot is free again.
  case reaped
  /// The caller is now blocked until the thread exits; join again after.
  case wait
}

public struct ThreadTable<Scheduler: ThreadScheduler> {
  public private(set) var scheduler: Scheduler
  /// The running thread's entry says `.ready` (it is `current`, and
  /// `state` reports it as `.running`), so a yield writes no state at all.
  private let states: FixedSlots<ThreadState>
  private let deadlines: FixedSlots<UInt64>
  private let joiners: FixedSlots<Int>  // -1: nobody waits
  public private(set) var current = 0
  public private(set) var sleepers = 0
  private var earliestDeadline = UInt64.max

  /// Slot 0 is the thread already running: the app's main.
  public init(capacity: Int, scheduler: Scheduler) {
    precondition(capacity >= 1)
    self.scheduler = scheduler
    states = FixedSlots(repeating: .free, count: capacity)
    deadlines = FixedSlots(repeating: 0, count: capacity)
    joiners = FixedSlots(repeating: -1, count: capacity)
    states[0] = .ready  // running: it is `current`
    self.scheduler.admit(0, weight: 1)
    // Main runs as if picked, so `current` is always the scheduler's last
    // pick (what `rotate` expects).
    self.scheduler.ready(0)
    current = self.scheduler.next()!
  }

  /// A table with no slots and nothing allocated, around a scheduler made
  /// the same way: a constant, so a global holding it is laid out at link
  /// time and the yield reads it with no lazy-initialisation check. The
  /// runtime replaces it with a real table before any thread is made.
  public init(unmade scheduler: Scheduler) {
    self.scheduler = scheduler
    states = FixedSlots()
    deadlines = FixedSlots()
    joiners = FixedSlots()
  }

  public var capacity: Int { states.count }
  /// The table's storage is made once and shared by copies: keep one table.
  public func state(_ thread: Int) -> ThreadState {
    let stored = states[thread]
    return thread == current && stored == .ready ? .running : stored
  }
  public var liveCount: Int {
    var n = 0
    for t in 0..<states.count where states[t] != .free && states[t] != .exited { n += 1 }
    return n
  }

  /// The slot `create` will use next (so the runtime can ready its stack first).
  public var nextFreeSlot: Int? {
    for t in 0..<states.count where states[t] == .free { return t }
    return nil
  }

  /// A new ready thread in the lowest free slot, or nil when the table is full.
  public mutating func create(weight: Int) -> Int? {
    guard let slot = nextFreeSlot else { return nil }
    states[slot] = .ready
    joiners[slot] = -1
    scheduler.admit(slot, weight: weight)
    scheduler.ready(slot)
    return slot
  }

  /// The running thread stays ready and lets the scheduler choose (yield,
  /// or preemption at a slice's start).
  @inline(__always)
  public mutating func yieldCurrent() {
    states[current] = .ready
    scheduler.ready(current)
  }

  /// A yield while no thread sleeps, in one step: the same as `yieldCurrent`
  /// then `pickNext` (which then always names someone), without the steps
  /// that do nothing here. Returns who runs now, maybe the same thread.
  @inline(__always)
  public mutating func rotateCurrent() -> Int {
    precondition(sleepers == 0, "rotateCurrent with sleepers: use pickNext")
    let next = scheduler.rotate(current)
    return rotated(to: next)
  }

  /// `next`, the scheduler's rotation of the running thread, runs now. No
  /// thread may sleep (checked in debug builds only: this is the yield's path).
  @inline(__always)
  private mutating func rotated(to next: Int) -> Int {
    assert(sleepers == 0, "a rotation with sleepers: use pickNext")
    current = next
    return next
  }

  /// The running thread waits for a `wake` (a mutex, a condition, a queue).
  public mutating func blockCurrent() { states[current] = .blocked }

  public mutating func wake(_ thread: Int) {
    precondition(states[thread] == .blocked, "woke a thread that was not blocked")
    states[thread] = .ready
    scheduler.ready(thread)
  }

  /// The running thread is skipped until the TSC reaches `deadline`.
  public mutating func sleepCurrent(until deadline: UInt64) {
    states[current] = .sleeping
    deadlines[current] = deadline
    sleepers += 1
    earliestDeadline = min(earliestDeadline, deadline)
  }

  /// The running thread ends; a thread waiting to join it becomes ready. Its
  /// slot stays taken (and its stack in use) until it is joined.
  public mutating func exitCurrent() {
    states[current] = .exited
    scheduler.retire(current)
    let joiner = joiners[current]
    if joiner >= 0 {
      joiners[current] = -1
      wake(joiner)
    }
  }

  /// The running thread joins `thread`: reaps it if it has exited, else blocks.
  public mutating func join(_ thread: Int) -> JoinStep {
    precondition(thread != current && states[thread] != .free, "join of itself or of no thread")
    if states[thread] == .exited {
      states[thread] = .free
      return .reaped
    }
    precondition(joiners[thread] < 0, "two threads join the same thread")
    joiners[thread] = current
    blockCurrent()
    return .wait
  }

  /// After the running thread yielded, blocked, slept or exited: wakes the
  /// sleepers whose deadline is `now` or past, and names who runs next,
  /// which becomes the running thread.
  @inline(__always)
  public mutating func pickNext(now: UInt64) -> NextStep {
    if sleepers > 0 && now >= earliestDeadline { wakeSleepers(now: now) }
    if let next = scheduler.next() {
      current = next  // its entry says .ready already: the scheduler holds only ready threads
      return .run(next)
    }
    return sleepers > 0 ? .idle(until: earliestDeadline) : .deadlock
  }

  private mutating func wakeSleepers(now: UInt64) {
    earliestDeadline = .max
    for t in 0..<states.count where states[t] == .sleeping {
      if deadlines[t] <= now {
        states[t] = .ready
        sleepers -= 1
        scheduler.ready(t)
      } else {
        earliestDeadline = min(earliestDeadline, deadlines[t])
      }
    }
  }
}

/// `rotateCurrent` through one policy's own rotation, when the caller knows
/// which policy the scheduler runs (the runtime's yield entry for that
/// policy), so the pick tests no flag. The caller knows no thread sleeps.
extension ThreadTable where Scheduler == SchedulerChoice {
  @inline(__always)
  public mutating func rotateCurrentRoundRobin() -> Int {
    let next = scheduler.rotateRoundRobin(current)
    return rotated(to: next)
  }

  @inline(__always)
  public mutating func rotateCurrentStride() -> Int {
    let next = scheduler.rotateStride(current)
    return rotated(to: next)
  }
}
