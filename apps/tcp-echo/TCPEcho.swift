// tcp-echo: every connection to port 7 gets a libOS thread that sends back
// what it receives, with blocking socket calls; threads waiting on the
// network park, and the env sleeps in the kernel when all of them wait.
import LibOSNet
import LibOSRuntime
import NetRuntime

nonisolated(unsafe) var active = 0
nonisolated(unsafe) var connections = 0
nonisolated(unsafe) var echoed = 0

@main
struct TCPEcho {
  static func main() {
    let address: IPv4Address
    let listener: TCPListener
    do {
      address = try Net.start()
      listener = try TCPListener(port: 7, backlog: 16)
    } catch {
      print("network: \(error.description)")
      Exo.exit(1)
    }
    print("listening on \(address):7 (tcp)")
    let idle = ServerArgument.idleSeconds()
    while true {
      let deadline = idle.map { Net.now &+ $0 * 1_000_000 }
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
      do { _ = try Threads.spawn { serve(stream) } } catch {
        print("no thread for a connection")
        stream.abort()
        active -= 1
      }
    }
    while active > 0 { Net.wait(until: Net.now &+ 100_000) }
    let c = Net.counters
    print("served \(connections) connections, echoed \(echoed) bytes; frames in \(c.framesIn), out \(c.framesOut), ring drops \(Net.droppedFull)")
  }

  static func serve(_ stream: TCPStream) {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
    defer {
      buffer.deallocate()
      active -= 1
    }
    while true {
      do throws(NetError) {
        guard let n = try stream.receive(into: buffer), n > 0 else { break }
        try stream.send(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        echoed += n
      } catch {
        stream.abort()
        return
      }
    }
    stream.close()
  }
}
