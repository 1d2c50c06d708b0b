// tcp-echo: every connection to port 7 gets a libOS thread that sends back
// what it receives, with blocking socket calls; threads waiting on the
// network park, and the env sleeps in the kernel when all of them wait.
import LibOSNet
import LibOSRuntime
import NetRuntime

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
    ThreadedServer.run(listener, idleSeconds: ServerArgument.idleSeconds()) { serve($0) }
    let c = Net.counters
    print("served \(ThreadedServer.connections) connections, echoed \(echoed) bytes; frames in \(c.framesIn), out \(c.framesOut), ring drops \(Net.droppedFull)")
  }

  static func serve(_ stream: TCPStream) {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
    defer { buffer.deallocate() }
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
