// The thread scheduler an app picks at run time, as one concrete type so
// the thread table stays generic without existentials (Embedded Swift).
// Both policies are stored and a flag says which one is used: a switch over
// an enum payload would move the scheduler out and back on every pick.

public struct SchedulerChoice: ThreadScheduler {
  private let isStride: Bool
  private var roundRobin: RoundRobinScheduler
  private var strideScheduler: StrideScheduler

  private init(isStride: Bool, capacity: Int) {
    self.isStride = isStride
    roundRobin = RoundRobinScheduler(capacity: isStride ? 1 : capacity)
    strideScheduler = StrideScheduler(capacity: isStride ? capacity : 1)
  }

  public static func roundRobin(capacity: Int) -> SchedulerChoice { SchedulerChoice(isStride: false, capacity: capacity) }
  public static func stride(capacity: Int) -> SchedulerChoice { SchedulerChoice(isStride: true, capacity: capacity) }

  public var name: StaticString { isStride ? "stride" : "rr" }

  public mutating func admit(_ thread: Int, weight: Int) {
    if isStride { strideScheduler.admit(thread, weight: weight) } else { roundRobin.admit(thread, weight: weight) }
  }

  public mutating func retire(_ thread: Int) {
    if isStride { strideScheduler.retire(thread) } else { roundRobin.retire(thread) }
  }

  @inline(__always)
  public mutating func ready(_ thread: Int) {
    if isStride { strideScheduler.ready(thread) } else { roundRobin.ready(thread) }
  }

  @inline(__always)
  public mutating func next() -> Int? { isStride ? strideScheduler.next() : roundRobin.next() }

  @inline(__always)
  public mutating func rotate(_ running: Int) -> Int {
    isStride ? Self.rotateStride(&strideScheduler, running) : roundRobin.rotate(running)
  }

  /// Out of line, and not a method (a method's self takes a register the
  /// caller must then save): stride's scan needs registers that
  /// round-robin's inlined yield would otherwise save as well.
  @inline(never)
  private static func rotateStride(_ scheduler: inout StrideScheduler, _ running: Int) -> Int {
    scheduler.rotate(running)
  }
}
