// httpd: HTTP/1.1 with keep-alive and pipelining, one libOS thread per
// connection, blocking socket calls on the app's own TCP stack. Malformed
// requests get the status the parser names (400, 405, 413, 414, 431, 501,
// 505) and the connection is closed.
import LibOSNet
import LibOSRuntime
import NetRuntime

nonisolated(unsafe) var requests = 0
nonisolated(unsafe) var errors = 0

@main
struct Httpd {
  static func main() {
    let address: IPv4Address
    let listener: TCPListener
    do {
      var tcp = TCPConfiguration()
      tcp.maxConnections = 48
      address = try Net.start(tcp: tcp)
      listener = try TCPListener(port: 80, backlog: 32)
    } catch {
      print("network: \(error.description)")
      Exo.exit(1)
    }
    print("listening on \(address):80 (http)")
    ThreadedServer.run(listener, idleSeconds: ServerArgument.idleSeconds()) { Connection.serve($0) }
    let c = Net.counters
    print("served \(requests) requests on \(ThreadedServer.connections) connections, \(errors) refused; frames in \(c.framesIn), out \(c.framesOut), ring drops \(Net.droppedFull)")
  }
}
