// The shape the TCP servers share: accept, give each connection a libOS
// thread of its own, and when the boot argument says so (ServerArgument)
// stop after that many seconds without a new connection while none is open.
import LibOSNet
import LibOSRuntime

public enum ThreadedServer {
  /// Connections whose thread has not ended yet, and every one accepted.
  nonisolated(unsafe) public private(set) static var active = 0
  nonisolated(unsafe) public private(set) static var connections = 0

  /// Accepts on `listener` and runs `serve` on a new thread per connection;
  /// returns once it stops accepting and every connection's thread has ended.
  public static func run(_ listener: TCPListener, idleSeconds: UInt64?, serve: @escaping (TCPStream) -> Void) {
    while true {
      let deadline = idleSeconds.map { Net.now &+ $0 * 1_000_000 }
      let stream: TCPStream?
      do { stream = try listener.accept(deadline: deadline) } catch {
        print("accept failed: \(error.description)")
        break
      }
      guard let stream else {
        if active == 0 { break }
        continue
      }
      active += 1
      connections += 1
      do {
        _ = try Threads.spawn {
          serve(stream)
          active -= 1
        }
      } catch {
        print("no thread for a connection")
        stream.abort()
        active -= 1
      }
    }
    while active > 0 { Net.wait(until: Net.now &+ 100_000) }
  }
}
