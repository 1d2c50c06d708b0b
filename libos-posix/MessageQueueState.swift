// A bounded message queue between the threads of one env: a ring of
// `capacity` messages, with the senders waiting for room and the receivers
// waiting for a message. A woken thread tries again (another may have got
// there first), so the queue never loses or duplicates a message.

public enum SendOutcome: Equatable, Sendable {
  /// Queued; wake this receiver, if one waited.
  case sent(wake: Int?)
  /// The queue is full: the sender was queued and must block, then retry.
  case full
}

public enum ReceiveOutcome<Message> {
  /// Taken; wake this sender, if one waited for room.
  case received(Message, wake: Int?)
  /// The queue is empty: the receiver was queued and must block, then retry.
  case empty
}

public struct MessageQueueState<Message> {
  private var ring: [Message?]
  private var head = 0
  public private(set) var count = 0
  public private(set) var senders = WaitQueue()
  public private(set) var receivers = WaitQueue()

  public init(capacity: Int) {
    precondition(capacity >= 1)
    ring = Array(repeating: nil, count: capacity)
  }

  public var capacity: Int { ring.count }

  public mutating func send(_ message: Message, by thread: Int) -> SendOutcome {
    guard count < ring.count else {
      senders.push(thread)
      return .full
    }
    ring[(head + count) % ring.count] = message
    count += 1
    return .sent(wake: receivers.pop())
  }

  public mutating func receive(by thread: Int) -> ReceiveOutcome<Message> {
    guard count > 0, let message = ring[head] else {
      receivers.push(thread)
      return .empty
    }
    ring[head] = nil
    head = (head + 1) % ring.count
    count -= 1
    return .received(message, wake: senders.pop())
  }
}
