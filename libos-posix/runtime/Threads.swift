// User-level threads: create, join, exit, yield, sleep, and the block/wake
// the synchronisation objects use, over the hardware-free thread table
// (libos-posix/ThreadTable.swift) and the stack switch in switch.S. Today a
// thread runs until it yields, blocks, sleeps or exits; `preempt` is the
// entry the kernel's slice-start upcall will call to take the CPU from the
// running thread, so the policy code is already the preemptive one.
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
  public static let capacity = 64
  /// The env's status when every thread is blocked and none can wake another.
  public static let deadlockStatus: Int32 = 3

  public enum Policy { case roundRobin, stride }

  /// Made on first use, round-robin until `use` says otherwise. Not an
  /// optional: reading a field through one copies the whole table.
  nonisolated(unsafe) static var table = ThreadTable(capacity: capacity, scheduler: SchedulerChoice.roundRobin(capacity: capacity))
  /// Each thread's saved RSP while it is not running (switch.S's frame).
  nonisolated(unsafe) static var savedRSP: UnsafeMutablePointer<UInt64>? = nil
  nonisolated(unsafe) static var bodies: [(() -> Void)?] = []

  /// Chooses the scheduler. Only while main is the only live thread; the
  /// first `spawn` without it picks round-robin. Each call makes a new table
  /// (a few KiB of the heap, not returned): meant for once per app, or a
  /// benchmark's few.
  public static func use(_ policy: Policy) {
    precondition(table.liveCount == 1 && table.current == 0, "scheduler changed with threads alive")
    let choice: SchedulerChoice =
      policy == .stride ? .stride(capacity: capacity) : .roundRobin(capacity: capacity)
    table = ThreadTable(capacity: capacity, scheduler: choice)
    if savedRSP == nil {
      savedRSP = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
      savedRSP!.initialize(repeating: 0, count: capacity)
      bodies = Array(repeating: nil, count: capacity)
    }
  }

  public static var schedulerName: StaticString { table.scheduler.name }
  public static var current: ThreadID { ThreadID(slot: table.current) }
  static var currentSlot: Int { table.current }

  /// A new ready thread running `body`; `weight` is its tickets under stride.
  /// It runs when the scheduler picks it (the caller keeps the CPU for now).
  @discardableResult
  public static func spawn(weight: Int = 1, _ body: @escaping () -> Void) throws(ThreadError) -> ThreadID {
    if savedRSP == nil { use(.roundRobin) }
    guard let slot = table.nextFreeSlot else { throw .tableFull }
    let top: UInt64
    do { top = try ThreadStacks.top(for: slot) } catch { throw .noStack(error) }
    // The frame switch.S pops: x87 control word, MXCSR (the ABI's initial
    // values), six zero GPRs, then the trampoline as the return address.
    let frame = UnsafeMutablePointer<UInt64>(bitPattern: UInt(top) - 8 * UInt(EXO_SWITCH_FRAME_WORDS + 1))!
    frame[0] = 0x037f
    frame[1] = 0x1f80
    for i in 2..<8 { frame[i] = 0 }
    frame[8] = exo_thread_trampoline_address()
    savedRSP![slot] = UInt64(UInt(bitPattern: frame))
    bodies[slot] = body
    let created = table.create(weight: weight)
    precondition(created == slot)
    return ThreadID(slot: slot)
  }

  /// Waits until `thread` has exited, then frees its slot.
  public static func join(_ thread: ThreadID) {
    while table.join(thread.slot) == .wait { reschedule() }
  }

  /// Ends the running thread. From main it ends the app.
  public static func exit() -> Never {
    if table.current == 0 { Exo.exit(0) }
    table.exitCurrent()
    reschedule()
    fatalError("an exited thread was resumed")
  }

  /// The running thread stays ready; the scheduler picks who runs.
  @inline(never)
  public static func yield() {
    table.yieldCurrent()
    reschedule()
  }

  /// What the slice-start upcall will call: the running thread's time is up.
  /// Today it is a yield; with the upcall the interrupted thread's full
  /// register state (saved by the kernel in the slice-end slot) is copied
  /// onto its stack first, and its saved frame resumes through that state.
  public static func preempt() { yield() }

  /// Skips the running thread until `ticks` more TSC ticks have passed.
  public static func sleep(ticks: UInt64) {
    let deadline = exo_rdtsc() &+ ticks
    table.sleepCurrent(until: deadline)
    reschedule()
  }

  /// The running thread waits for `wake` (used by Mutex, Condition, ...).
  static func block() {
    table.blockCurrent()
    reschedule()
  }

  static func wake(_ slot: Int) { table.wake(slot) }

  /// Gives the CPU to whoever the table picks; returns when this thread is
  /// picked again. The usual case (someone is ready) is kept small enough to
  /// inline into yield and block; waiting for a sleeper is out of line.
  @inline(__always)
  static func reschedule() {
    let from = table.current
    if case .run(let to) = table.pickNext(now: table.sleepers > 0 ? exo_rdtsc() : 0) {
      if to != from { exo_thread_switch(savedRSP! + from, savedRSP![to]) }
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
        if to != from { exo_thread_switch(savedRSP! + from, savedRSP![to]) }
        return
      case .idle:
        Exo.yield()
      case .deadlock:
        print("threads: deadlock: every thread is blocked")
        Exo.exit(deadlockStatus)
      }
    }
  }

  /// A new thread's first Swift code (the trampoline calls it).
  static func runCurrent() -> Never {
    let slot = table.current
    let body = bodies[slot]!
    bodies[slot] = nil
    body()
    exit()
  }
}

@_cdecl("exo_thread_main")
func threadMain() {
  Threads.runCurrent()
}
