// Stride scheduling (Waldspurger and Weihl, 1995): proportional share by
// tickets. Each thread's pass advances by stride = L / tickets each time it
// is picked, and the ready thread with the smallest pass runs, so over any
// run of picks each thread's count stays within about one of its ticket share.
// This is the policy for an app whose threads must split the env's slices
// in set proportions (a server's foreground and background work).

public struct StrideScheduler: ThreadScheduler {
  /// L: large, so that strides of up to `maxTickets` tickets stay exact enough.
  public static let strideOne: UInt64 = 1 << 20
  public static let maxTickets = 1 << 16

  private let pass: FixedSlots<UInt64>
  private let stride: FixedSlots<UInt64>
  /// The ready threads, unordered: a scan finds the smallest pass, as an
  /// env's threads are few.
  private let readySet: FixedSlots<Int>
  public private(set) var readyCount = 0
  /// The pass of the last thread picked: a thread that was blocked or slept
  /// rejoins here, so it cannot make up for lost time by monopolising the CPU.
  private var globalPass: UInt64 = 0

  public init(capacity: Int) {
    pass = FixedSlots(repeating: 0, count: capacity)
    stride = FixedSlots(repeating: Self.strideOne, count: capacity)
    readySet = FixedSlots(repeating: 0, count: capacity)
  }

  /// No slots, nothing allocated: what a global holds until the runtime
  /// makes the real scheduler (so the global is laid out at link time).
  public init() {
    pass = FixedSlots()
    stride = FixedSlots()
    readySet = FixedSlots()
  }

  public var name: StaticString { "stride" }

  public func tickets(of thread: Int) -> Int { Int(Self.strideOne / stride[thread]) }

  public mutating func admit(_ thread: Int, weight: Int) {
    let tickets = UInt64(min(max(weight, 1), Self.maxTickets))
    stride[thread] = Self.strideOne / tickets
    // A new thread starts half a stride past now: not ahead of threads that
    // have been waiting, not a whole stride behind (which would skip a turn).
    pass[thread] = globalPass + stride[thread] / 2
  }

  public mutating func retire(_ thread: Int) {
    for i in 0..<readyCount where readySet[i] == thread {
      readySet[i] = readySet[readyCount - 1]
      readyCount -= 1
      return
    }
  }

  @inline(__always)
  public mutating func ready(_ thread: Int) {
    if pass[thread] < globalPass { pass[thread] = globalPass }
    readySet[readyCount] = thread
    readyCount += 1
  }

  /// Smallest pass first; ties go to the lower slot, so picks are deterministic.
  public mutating func next() -> Int? {
    guard readyCount > 0 else { return nil }
    var best = 0
    var bestThread = readySet[0]
    var bestPass = pass[bestThread]
    for i in 1..<readyCount {
      let t = readySet[i]
      let p = pass[t]
      if p < bestPass || (p == bestPass && t < bestThread) {
        best = i
        bestThread = t
        bestPass = p
      }
    }
    readyCount -= 1
    readySet[best] = readySet[readyCount]
    globalPass = bestPass
    pass[bestThread] = bestPass &+ stride[bestThread]
    return bestThread
  }

  /// `ready(running)` then `next()` without moving `running` through the
  /// set: it competes from outside, and takes the picked thread's place in
  /// the set when it loses. The set's order never decides a pick (ties go
  /// to the lower slot), so the picks are the same.
  @inline(__always)
  public mutating func rotate(_ running: Int) -> Int {
    if pass[unchecked: running] < globalPass { pass[unchecked: running] = globalPass }
    var best = -1
    var bestThread = running
    var bestPass = pass[unchecked: running]
    var i = 0
    while i < readyCount {
      let t = readySet[unchecked: i]
      let p = pass[unchecked: t]
      if p < bestPass || (p == bestPass && t < bestThread) {
        best = i
        bestThread = t
        bestPass = p
      }
      i &+= 1
    }
    if best >= 0 { readySet[unchecked: best] = running }
    globalPass = bestPass
    pass[unchecked: bestThread] = bestPass &+ stride[unchecked: bestThread]
    return bestThread
  }
}
