// User-level threads: create, join, exit, yield, sleep, and the block/wake
// the synchronisation objects use, over the hardware-free thread table
// (libos-posix/ThreadTable.swift) and the stack switch in switch.S. A
// thread runs until it yields, blocks, sleeps or exits, or, after
// `usePreemption`, until a slice of the env starts while it runs outside the
// thread library: the slice-start upcall then saves its full state on its
// own stack (PreemptedFrame) and switches to the thread the scheduler picks.
//
// The thread library's state (the table, the saved RSPs, the sync objects'
// state, the heap, the console buffer) is only changed inside
// `ThreadCritical` sections: the depth in switch.S's `exo_thread_critical`.
// It is the running thread's depth: every switch happens inside a section,
// so switch.S saves it in the switch frame and puts the switched-in
// thread's own depth back (yield's switch saves it less one), a new thread
// starts at 0, and a preempted one (preempted only at 0) resumes at 0.
import LibOSPosix
import SecureBindings
import UserArch

/// A thread of this env: its slot in the table (0 is the app's main).
public struct ThreadID: Equatable {
  public let slot: Int
}

public enum ThreadError: Error {
  case tableFull
  case noStack(ExoError)
}

public enum Threads {
  public static let capacity = Int(EXO_THREAD_CAPACITY)
  /// The env's status when every thread is blocked and none can wake another.
  public static let deadlockStatus: Int32 = 3

  public enum Policy { case roundRobin, stride }

  /// Made by `use` (the first spawn, yield, sleep or block calls it). Until
  /// then an unmade table: a constant, so the global is laid out at link
  /// time and the yield reads it with no lazy-initialisation check. Not an
  /// optional: reading a field through one copies the whole table.
  nonisolated(unsafe) static var table = ThreadTable(unmade: SchedulerChoice())
  nonisolated(unsafe) static var isMade = false
  /// Whether `yield` leaves its round-robin path at once: before the table
  /// is made, under stride, and while some thread may sleep (`sleep` sets
  /// it; the out-of-line yield clears it once none does). One byte for the
  /// yield to test, instead of the policy and the sleepers.
  nonisolated(unsafe) static var yieldsOutOfLine = true
  /// Each thread's saved RSP while it is not running (switch.S's frame),
  /// by slot: switch.S's own array.
  static var savedRSP: UnsafeMutablePointer<UInt64> { exo_thread_saved_rsp_slots() }
  nonisolated(unsafe) static var bodies: [(() -> Void)?] = []
  /// Whether slice-start upcalls preempt the running thread.
  nonisolated(unsafe) public private(set) static var isPreemptive = false
  /// Threads switched away from by a slice-start upcall.
  nonisolated(unsafe) public private(set) static var preemptions: UInt64 = 0

  /// Chooses the scheduler. Only while main is the only live thread; the
  /// first `spawn` without it picks round-robin. Each call makes a new table
  /// (a few KiB of the heap, not returned): meant for once per app, or a
  /// benchmark's few.
  public static func use(_ policy: Policy) {
    precondition(!isMade || (table.liveCount == 1 && table.current == 0), "scheduler changed with threads alive")
    let choice: SchedulerChoice =
      policy == .stride ? .stride(capacity: capacity) : .roundRobin(capacity: capacity)
    table = ThreadTable(capacity: capacity, scheduler: choice)
    yieldsOutOfLine = policy == .stride
    if !isMade {
      bodies = Array(repeating: nil, count: capacity)
      isMade = true
    }
  }

  /// From now on each slice of the env may preempt the running thread
  /// (outside the thread library) for the next one the scheduler picks, so
  /// threads that never yield still share the CPU. Registers the
  /// slice-start upcall (Exceptions.onSliceStart); once per app.
  public static func usePreemption() throws(ExoError) {
    if !isMade { use(.roundRobin) }
    try Exceptions.onSliceStart { sliceStarted($0) }
    isPreemptive = true
  }

  public static var schedulerName: StaticString { table.scheduler.name }
  public static var current: ThreadID { ThreadID(slot: table.current) }
  static var currentSlot: Int { table.current }

  /// A new ready thread running `body`; `weight` is its tickets under stride.
  /// It runs when the scheduler picks it (the caller keeps the CPU for now).
  @discardableResult
  public static func spawn(weight: Int = 1, _ body: @escaping () -> Void) throws(ThreadError) -> ThreadID {
    if !isMade { use(.roundRobin) }
    ThreadCritical.enter()
    defer { ThreadCritical.leave() }
    guard let slot = table.nextFreeSlot else { throw .tableFull }
    let top: UInt64
    do { top = try ThreadStacks.top(for: slot) } catch { throw .noStack(error) }
    // The frame switch.S pops: the depth (1: inside the switch that starts
    // the thread, until runCurrent), six zero GPRs, then the trampoline as
    // the return address.
    let frame = UnsafeMutablePointer<UInt64>(bitPattern: UInt(top) - 8 * UInt(EXO_SWITCH_FRAME_WORDS + 1))!
    frame[0] = 1
    for i in 1..<7 { frame[i] = 0 }
    frame[7] = exo_thread_trampoline_address()
    savedRSP[slot] = UInt64(UInt(bitPattern: frame))
    bodies[slot] = body
    let created = table.create(weight: weight)
    precondition(created == slot)
    return ThreadID(slot: slot)
  }

  /// Waits until `thread` has exited, then frees its slot.
  public static func join(_ thread: ThreadID) {
    ThreadCritical.enter()
    defer { ThreadCritical.leave() }
    while table.join(thread.slot) == .wait { reschedule() }
  }

  /// Ends the running thread. From main it ends the app.
  public static func exit() -> Never {
    if table.current == 0 { Exo.exit(0) }
    ThreadCritical.enter()  // never left: the thread is gone
    table.exitCurrent()
    reschedule()
    fatalError("an exited thread was resumed")
  }

  /// The running thread stays ready; the scheduler picks who runs. With no
  /// sleeper to wake, one rotation of the scheduler and the switch; stride
  /// and the general path are out of line, so this one saves no registers
  /// of its own. The switch leaves the section itself (switch.S's
  /// exo_thread_switch_leave), so it is this function's last act and this
  /// thread resumes straight into the caller.
  @inline(never)
  public static func yield() {
    ThreadCritical.enter()
    if yieldsOutOfLine { return yieldOutOfLine() }
    let from = table.current
    let to = table.rotateCurrentRoundRobin()
    guard to != from else { return ThreadCritical.leave() }
    exo_thread_switch_leave(from, to)
  }

  /// The yield under stride, with sleepers, or before any `use` or `spawn`
  /// (inside the section `yield` entered, which this leaves).
  @inline(never)
  static func yieldOutOfLine() {
    guard table.sleepers == 0 else { return yieldWakingSleepers() }
    let from = table.current
    let to: Int
    if table.scheduler.isStride {
      to = table.rotateCurrentStride()
    } else {
      // The unmade table reads as round-robin with no sleepers.
      guard isMade else {
        ThreadCritical.leave()
        return use(.roundRobin)  // main is the only thread
      }
      yieldsOutOfLine = false  // nobody sleeps any more
      to = table.rotateCurrentRoundRobin()
    }
    guard to != from else { return ThreadCritical.leave() }
    exo_thread_switch_leave(from, to)
  }

  /// Wakes the sleepers that are due, then picks; leaves the section.
  @inline(never)
  static func yieldWakingSleepers() {
    table.yieldCurrent()
    reschedule()
    yieldsOutOfLine = table.scheduler.isStride || table.sleepers > 0
    ThreadCritical.leave()
  }

  /// The running thread's time is up: from the thread itself, a yield (the
  /// slice-start upcall does the same from outside, in `sliceStarted`).
  public static func preempt() { yield() }

  /// The slice-start upcall (on the exception stack, upcalls disabled, the
  /// interrupted context in `state`'s slot). Returning resumes that context
  /// (exception.S); switching never returns.
  static func sliceStarted(_ state: ExceptionState) {
    // Inside the library the table may be half-updated: this slice is the
    // thread's. Also while a thread's switch.S frame is being entered or
    // left (RIP in switch.S), where the running thread is not yet whole.
    guard isPreemptive, exo_thread_critical_depth() == 0, exo_thread_code_contains(state.rip) == 0 else { return }
    let from = table.current
    table.yieldCurrent()
    // `from` is ready, so the scheduler names someone: maybe `from` again.
    guard case .run(let to) = table.pickNext(now: table.sleepers > 0 ? exo_rdtsc() : 0), to != from else { return }
    preemptions &+= 1
    savedRSP[from] = PreemptedFrame.build(slot: UnsafeRawPointer(state.page), resumeAt: exo_thread_resume_preempted_address())
    // `to` resumes inside the library (switch.S puts its depth back) or in
    // switch.S (the trampoline, or a preempted thread's resume, which sets
    // 0): until then it is inside, so no upcall preempts it half-resumed.
    exo_thread_critical_set(1)
    // The state is on `from`'s stack now: switch.S leaves the exception
    // stack and only then clears the upcalls-disabled word.
    exo_thread_preempt_switch(state.page, savedRSP[to])
  }

  /// Whether a thread other than the running one is ready to run now (a
  /// thread waiting for the network parks and lets it run, rather than
  /// putting the whole env to sleep).
  public static var othersReady: Bool {
    guard table.liveCount > 1 else { return false }
    for slot in 0..<table.capacity where slot != table.current && table.state(slot) == .ready { return true }
    return false
  }

  /// Skips the running thread until `ticks` more TSC ticks have passed.
  public static func sleep(ticks: UInt64) {
    if !isMade { use(.roundRobin) }
    ThreadCritical.enter()
    let deadline = exo_rdtsc() &+ ticks
    yieldsOutOfLine = true  // the yield must wake this thread in time
    table.sleepCurrent(until: deadline)
    reschedule()
    ThreadCritical.leave()
  }

  /// The running thread waits for `wake` (used by Mutex, Condition, ...,
  /// inside their own critical sections).
  static func block() {
    if !isMade { use(.roundRobin) }
    table.blockCurrent()
    reschedule()
  }

  static func wake(_ slot: Int) { table.wake(slot) }

  /// Gives the CPU to whoever the table picks; returns when this thread is
  /// picked again. The usual case (someone is ready) is kept small enough to
  /// inline into yield and block; waiting for a sleeper is out of line.
  /// Only inside a critical section.
  @inline(__always)
  static func reschedule() {
    let from = table.current
    if case .run(let to) = table.pickNext(now: table.sleepers > 0 ? exo_rdtsc() : 0) {
      if to != from { switchTo(from: from, to: to) }
      return
    }
    waitForReady(from: from)
  }

  /// Nothing is ready: while some thread sleeps, the env gives its slice
  /// away and asks again; if none sleeps, nothing can ever wake anyone.
  @inline(never)
  static func waitForReady(from: Int) {
    while true {
      switch table.pickNext(now: exo_rdtsc()) {
      case .run(let to):
        if to != from { switchTo(from: from, to: to) }
        return
      case .idle:
        Exo.yield()
      case .deadlock:
        // Threads parked for the network are not stuck: one of them becomes
        // the thread that waits in the kernel.
        if ThreadParking.wakeParked() { continue }
        print("threads: deadlock: every thread is blocked")
        Exo.exit(deadlockStatus)
      }
    }
  }

  /// switch.S keeps each thread's depth in its frame: this thread's comes
  /// back with it.
  @inline(__always)
  static func switchTo(from: Int, to: Int) { exo_thread_switch(from, to) }

  /// A new thread's first Swift code (the trampoline calls it), still inside
  /// the section of the thread that switched to it.
  static func runCurrent() -> Never {
    let slot = table.current
    let body = bodies[slot]!
    bodies[slot] = nil
    exo_thread_critical_set(0)
    body()
    exit()
  }
}

@_cdecl("exo_thread_main")
func threadMain() {
  Threads.runCurrent()
}

/// A section of the thread library: no preemption while one is open. Nests.
enum ThreadCritical {
  @inline(__always) static func enter() { exo_thread_critical_enter() }
  @inline(__always) static func leave() { exo_thread_critical_leave() }
}
