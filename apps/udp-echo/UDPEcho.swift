// udp-echo: the smallest networked app. Its libOS stack answers ARP and
// ping, and this loop sends every datagram to port 7 back where it came
// from. It exits on a datagram "quit", or after ARG seconds without one.
import LibOSNet
import LibOSRuntime
import NetRuntime

@main
struct UDPEcho {
  static func main() {
    let address: IPv4Address
    let socket: UDPEndpoint
    do {
      address = try Net.start()
      socket = try UDPEndpoint(port: 7)
    } catch {
      print("network: \(error.description)")
      Exo.exit(1)
    }
    print("listening on \(address):7 (udp)")
    let idle = ServerArgument.idleSeconds()
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
    var datagrams = 0
    var bytes = 0
    while true {
      let deadline = idle.map { Net.now &+ $0 * 1_000_000 }
      guard let got = socket.receive(into: buffer, deadline: deadline) else { break }
      if got.count == 4 && buffer[0] == UInt8(ascii: "q") && buffer[1] == UInt8(ascii: "u") && buffer[2] == UInt8(ascii: "i") && buffer[3] == UInt8(ascii: "t") {
        break
      }
      do throws(NetError) {
        try socket.send(UnsafeRawBufferPointer(rebasing: buffer[0..<got.count]), to: got.source, port: got.port)
      } catch { print("send to \(got.source):\(got.port) failed: \(error.description)") }
      datagrams += 1
      bytes += got.count
    }
    let c = Net.counters
    print("echoed \(datagrams) datagrams, \(bytes) bytes; frames in \(c.framesIn), out \(c.framesOut), ring drops \(Net.droppedFull)")
  }
}
