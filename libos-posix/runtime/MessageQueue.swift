// A bounded message queue between the threads of one env: send blocks while
// it is full, receive while it is empty (MessageQueueState); each operation
// is a thread-library critical section.
import LibOSPosix

public final class MessageQueue<Message> {
  var state: MessageQueueState<Message>

  public init(capacity: Int) { state = MessageQueueState(capacity: capacity) }

  public func send(_ message: Message) {
    ThreadCritical.enter()
    defer { ThreadCritical.leave() }
    while true {
      switch state.send(message, by: Threads.currentSlot) {
      case .sent(let wake):
        if let wake { Threads.wake(wake) }
        return
      case .full:
        Threads.block()
      }
    }
  }

  public func receive() -> Message {
    ThreadCritical.enter()
    defer { ThreadCritical.leave() }
    while true {
      switch state.receive(by: Threads.currentSlot) {
      case .received(let message, let wake):
        if let wake { Threads.wake(wake) }
        return message
      case .empty:
        Threads.block()
      }
    }
  }
}
