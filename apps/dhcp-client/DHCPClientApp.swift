// dhcp-client: the DHCP half of the network libOS in a real boot. Its
// manifest gives it a MAC and no address, so its stack asks QEMU's DHCP
// server (whose replies are broadcast: the kernel hands them to this env by
// the filter that names its MAC inside the reply). With ARG = a TCP port it
// then connects from the leased address to the host (QEMU's user network
// maps the gateway, 10.0.2.2, to the host's loopback), sends one line and
// prints the line it gets back, which shows the lease works both ways;
// it talks through the sockets C ABI (libos-net/include/exo_sockets.h).
import LibOSNet
import LibOSRuntime
import NetRuntime

@main
struct DHCPClientApp {
  static func main() {
    let address: IPv4Address
    do { address = try Net.start() } catch {
      print("network: \(error.description)")
      Exo.exit(1)
    }
    guard let lease = Net.lease else {
      print("WRONG: an address without a lease")
      Exo.exit(1)
    }
    let gateway = lease.router ?? IPv4Address(10, 0, 2, 2)
    print(
      "leased \(address) from \(lease.server) for \(lease.seconds) s; netmask \(describe(lease.netmask)), "
        + "router \(describe(lease.router)), dns \(describe(lease.dnsServer))")
    guard let port = hostPort() else { return }
    // Through the sockets C ABI (exo_sockets.h), as C code would talk.
    let fd = exo_socket(SocketType.stream.rawValue)
    let connected = exo_connect(fd, gateway.value, port)
    guard fd >= 0, connected == 0 else {
      print("talking to the host at \(gateway):\(port) failed: socket \(fd), connect \(connected)")
      Exo.exit(1)
    }
    let line = Array("hello from \(address)\n".utf8)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 8)
    buffer.copyBytes(from: line)
    var sent = 0
    while sent < line.count {
      let n = exo_send(fd, buffer.baseAddress! + sent, line.count - sent)
      guard n > 0 else {
        print("send failed: \(n)")
        Exo.exit(1)
      }
      sent += n
    }
    var answer: [UInt8] = []
    while answer.last != UInt8(ascii: "\n"), answer.count < 200 {
      let n = exo_recv(fd, buffer.baseAddress, 256)
      guard n > 0 else { break }
      answer += buffer[0..<n]
    }
    _ = exo_close(fd)
    while answer.last == UInt8(ascii: "\n") || answer.last == UInt8(ascii: "\r") { answer.removeLast() }
    print("the host answered: \(String(decoding: answer, as: UTF8.self))")
  }

  static func describe(_ address: IPv4Address?) -> String { address.map { $0.description } ?? "none" }

  /// ARG as a TCP port (1...65535); nil without one.
  static func hostPort() -> UInt16? {
    guard let n = ServerArgument.number(digits: 5), n >= 1, n <= 65535 else { return nil }
    return UInt16(n)
  }
}
