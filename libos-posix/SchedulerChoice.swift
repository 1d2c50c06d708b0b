// The thread scheduler an app picks at run time, as one concrete type so
// the thread table stays generic without existentials (Embedded Swift).
// Both policies are stored and a flag says which one is used: a switch over
// an enum payload would move the scheduler out and back on every pick. The
// yield does not test the flag: the runtime picks a yield entry per policy
// once, and each calls its policy's rotation (`rotateRoundRobin`,
// `rotateStride`) directly.

public struct SchedulerChoice: ThreadScheduler {
  public let isStride: Bool
  private var roundRobin: RoundRobinScheduler
  private var strideScheduler: StrideScheduler

  private init(isStride: Bool, capacity: Int) {
    self.isStride = isStride
    roundRobin = RoundRobinScheduler(capacity: isStride ? 1 : capacity)
    strideScheduler = StrideScheduler(capacity: isStride ? capacity : 1)
  }

  /// Round-robin with no slots, nothing allocated: what the runtime's
  /// global holds until it makes the real one (ThreadTable's `unmade`).
  public init() {
    isStride = false
    roundRobin = RoundRobinScheduler()
    strideScheduler = StrideScheduler()
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
    isStride ? rotateStride(running) : rotateRoundRobin(running)
  }

  /// `rotate` when the caller knows the policy is round-robin (checked in
  /// debug builds only: this is the yield's path).
  @inline(__always)
  public mutating func rotateRoundRobin(_ running: Int) -> Int {
    assert(!isStride, "round-robin rotation under stride")
    return roundRobin.rotate(running)
  }

  /// `rotate` when the caller knows the policy is stride.
  @inline(__always)
  public mutating func rotateStride(_ running: Int) -> Int {
    assert(isStride, "stride rotation under round-robin")
    return strideScheduler.rotate(running)
  }
}
