// Threads waiting on one synchronisation object, first come first served,
// so no waiter is passed over forever.

public struct WaitQueue: Sendable {
  private var items: [Int] = []
  private var head = 0

  public init() {}

  public var isEmpty: Bool { head == items.count }
  public var count: Int { items.count - head }

  public mutating func push(_ thread: Int) { items.append(thread) }

  public mutating func pop() -> Int? {
    guard head < items.count else { return nil }
    let thread = items[head]
    head += 1
    // Reuse the storage once drained, so a long-lived queue does not grow.
    if head == items.count {
      items.removeAll(keepingCapacity: true)
      head = 0
    }
    return thread
  }

  public mutating func contains(_ thread: Int) -> Bool { items[head...].contains(thread) }
}
