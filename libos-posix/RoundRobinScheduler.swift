// Round-robin: ready threads run in the order they became ready, each until
// it yields, blocks or (with the slice-start upcall) is preempted. Weights
// are ignored; no ready thread waits for more than the others ahead of it.

public struct RoundRobinScheduler: ThreadScheduler {
  /// A ring of thread slots; a thread is in it at most once, so `capacity`
  /// entries always suffice. Its size is a power of two, so positions wrap
  /// with a mask.
  private let ring: FixedSlots<Int>
  private let mask: Int
  private var head = 0
  public private(set) var readyCount = 0

  public init(capacity: Int) {
    var size = 1
    while size < capacity { size *= 2 }
    ring = FixedSlots(repeating: 0, count: size)
    mask = size - 1
  }

  public var name: StaticString { "rr" }

  public mutating func admit(_ thread: Int, weight: Int) {}

  /// Normally a retired thread is not ready (only a running thread exits);
  /// if it is, it leaves the ring so it is never picked.
  public mutating func retire(_ thread: Int) {
    var kept = 0
    for i in 0..<readyCount {
      let t = ring[(head + i) % ring.count]
      if t != thread {
        ring[(head + kept) % ring.count] = t
        kept += 1
      }
    }
    readyCount = kept
  }

  @inline(__always)
  public mutating func ready(_ thread: Int) {
    precondition(readyCount < ring.count, "round-robin ring full")
    var tail = head + readyCount
    if tail >= ring.count { tail -= ring.count }
    ring[tail] = thread
    readyCount += 1
  }

  @inline(__always)
  public mutating func next() -> Int? {
    guard readyCount > 0 else { return nil }
    let thread = ring[head]
    head = head + 1 == ring.count ? 0 : head + 1
    readyCount -= 1
    return thread
  }

  /// The head leaves and `running` takes the tail, in place: the ring keeps
  /// its count. Slots in the ring came through `ready`, so in range.
  @inline(__always)
  public mutating func rotate(_ running: Int) -> Int {
    guard readyCount > 0 else { return running }
    let thread = ring[unchecked: head]
    ring[unchecked: (head &+ readyCount) & mask] = running
    head = (head &+ 1) & mask
    return thread
  }
}
