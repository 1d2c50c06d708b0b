// Host tests of the descriptor table behind the sockets C ABI: a TCP
// listener and a client on two stacks over a fake wire (bind, listen,
// connect in progress then done, accept, send, receive, end of stream),
// UDP by sendTo/receiveFrom, a refused connect, and every misuse (unknown,
// closed and wrong-kind descriptors, double bind, a full table, bad
// arguments) answered with its errno, never a trap.
import XCTest

@testable import LibOSNet

final class SocketDescriptorTests: XCTestCase {
  let ipA = IPv4Address(10, 0, 2, 100)
  let ipB = IPv4Address(10, 0, 2, 101)

  func stacks() -> (TestStack, TestStack) {
    (Net.stack(address: ipA, mac: MACAddress(0x02, 0, 0, 0, 0, 0xa)), Net.stack(address: ipB, mac: MACAddress(0x02, 0, 0, 0, 0, 0xb)))
  }

  func testTCPThroughDescriptors() {
    var (a, b) = stacks()
    var fa = SocketDescriptors()
    var fb = SocketDescriptors()
    var now: UInt64 = 1_000
    let listener = fb.open(.stream)
    XCTAssertEqual(listener, 0, "the lowest free descriptor")
    XCTAssertEqual(fb.listen(listener, backlog: 4, in: &b), SocketErrno.invalid, "listen before bind")
    XCTAssertEqual(fb.bind(listener, port: 0, in: &b), SocketErrno.invalid, "a listener needs a port")
    XCTAssertEqual(fb.bind(listener, port: 80, in: &b), 0)
    XCTAssertEqual(fb.bind(listener, port: 81, in: &b), SocketErrno.invalid, "bound already")
    XCTAssertEqual(fb.listen(listener, backlog: 4, in: &b), 0)
    XCTAssertEqual(fb.accept(listener, in: &b), SocketErrno.wouldBlock)

    let client = fa.open(.stream)
    XCTAssertEqual(fa.connected(client, in: &a, now: now), SocketErrno.invalid, "not connecting")
    XCTAssertEqual(fa.connect(client, to: ipB, port: 80, in: &a, now: now), SocketErrno.inProgress)
    XCTAssertEqual(fa.connected(client, in: &a, now: now), SocketErrno.wouldBlock)
    XCTAssertEqual(fa.connect(client, to: ipB, port: 80, in: &a, now: now), SocketErrno.alreadyConnected)
    netWire(&a, &b, now: &now)
    XCTAssertEqual(fa.connected(client, in: &a, now: now), 0)
    let server = fb.accept(listener, in: &b)
    XCTAssertEqual(server, 1)

    let request = Array("GET / HTTP/1.0\r\n\r\n".utf8)
    XCTAssertEqual(request.withUnsafeBytes { fa.send(client, $0, in: &a, now: now) }, request.count)
    netWire(&a, &b, now: &now)
    var buffer = [UInt8](repeating: 0, count: 64)
    let got = buffer.withUnsafeMutableBytes { fb.receive(server, into: $0, in: &b, now: now) }
    XCTAssertEqual(Array(buffer[0..<max(got, 0)]), request)
    XCTAssertEqual(buffer.withUnsafeMutableBytes { fb.receive(server, into: $0, in: &b, now: now) }, SocketErrno.wouldBlock)
    XCTAssertEqual(fa.close(client, in: &a, now: now), 0)
    netWire(&a, &b, now: &now)
    XCTAssertEqual(buffer.withUnsafeMutableBytes { fb.receive(server, into: $0, in: &b, now: now) }, 0, "end of stream")
    XCTAssertEqual(fa.close(client, in: &a, now: now), SocketErrno.badDescriptor, "closed twice")
    XCTAssertEqual(request.withUnsafeBytes { fa.send(client, $0, in: &a, now: now) }, SocketErrno.badDescriptor)
    XCTAssertEqual(fb.close(server, in: &b, now: now), 0)
    XCTAssertEqual(fb.close(listener, in: &b, now: now), 0)
    a.assertCountersAddUp()
    b.assertCountersAddUp()
  }

  /// A connect to a port nobody listens on fails with ECONNREFUSED (the RST).
  func testRefusedConnect() {
    var (a, b) = stacks()
    var fa = SocketDescriptors()
    var now: UInt64 = 1_000
    let fd = fa.open(.stream)
    XCTAssertEqual(fa.connect(fd, to: ipB, port: 9, in: &a, now: now), SocketErrno.inProgress)
    netWire(&a, &b, now: &now)
    XCTAssertEqual(fa.connected(fd, in: &a, now: now), SocketErrno.connectionRefused)
  }

  func testUDPThroughDescriptors() {
    var (a, b) = stacks()
    var fa = SocketDescriptors()
    var fb = SocketDescriptors()
    var now: UInt64 = 1_000
    let receiver = fb.open(.datagram)
    var buffer = [UInt8](repeating: 0, count: 8)
    XCTAssertEqual(buffer.withUnsafeMutableBytes { fb.receiveFrom(receiver, into: $0, in: &b).result }, SocketErrno.invalid, "unbound")
    XCTAssertEqual(fb.bind(receiver, port: 7, in: &b), 0)
    let sender = fa.open(.datagram)
    let hello = Array("hello, descriptors".utf8)
    // sendTo binds an ephemeral port first.
    XCTAssertEqual(hello.withUnsafeBytes { fa.sendTo(sender, $0, to: ipB, port: 7, in: &a, now: now) }, hello.count)
    netWire(&a, &b, now: &now)
    let got = buffer.withUnsafeMutableBytes { fb.receiveFrom(receiver, into: $0, in: &b) }
    XCTAssertEqual(got.result, 8, "cut to the buffer, as recvfrom does")
    XCTAssertEqual(Array(buffer), Array(hello[0..<8]))
    XCTAssertEqual(got.source, ipA)
    XCTAssertGreaterThanOrEqual(got.port, 49152)
    XCTAssertEqual(buffer.withUnsafeMutableBytes { fb.receiveFrom(receiver, into: $0, in: &b).result }, SocketErrno.wouldBlock)
    XCTAssertEqual(hello.withUnsafeBytes { fa.sendTo(sender, $0, to: ipB, port: 0, in: &a, now: now) }, SocketErrno.invalid)
    let other = fa.open(.datagram)
    XCTAssertEqual(fa.bind(other, port: fa.socket(sender).flatMap { if case .udp(let s) = $0 { a.udpPort(s) } else { nil } } ?? 0, in: &a), SocketErrno.addressInUse)
    a.assertCountersAddUp()
    b.assertCountersAddUp()
  }

  /// Unknown, negative and wrong-kind descriptors, and a full table: each
  /// call answers with its errno.
  func testMisuseGetsErrnos() {
    var (a, _) = stacks()
    var table = SocketDescriptors(capacity: 3)
    var byte: [UInt8] = [0]
    for fd in [-1, 3, 1_000_000, Int.max] {
      XCTAssertEqual(table.bind(fd, port: 1, in: &a), SocketErrno.badDescriptor)
      XCTAssertEqual(table.listen(fd, backlog: 1, in: &a), SocketErrno.badDescriptor)
      XCTAssertEqual(table.accept(fd, in: &a), SocketErrno.badDescriptor)
      XCTAssertEqual(table.connect(fd, to: ipB, port: 1, in: &a, now: 0), SocketErrno.badDescriptor)
      XCTAssertEqual(byte.withUnsafeBytes { table.send(fd, $0, in: &a, now: 0) }, SocketErrno.badDescriptor)
      XCTAssertEqual(byte.withUnsafeMutableBytes { table.receive(fd, into: $0, in: &a, now: 0) }, SocketErrno.badDescriptor)
      XCTAssertEqual(byte.withUnsafeBytes { table.sendTo(fd, $0, to: ipB, port: 1, in: &a, now: 0) }, SocketErrno.badDescriptor)
      XCTAssertEqual(table.close(fd, in: &a, now: 0), SocketErrno.badDescriptor)
      XCTAssertNil(table.socket(fd))
    }
    let udp = table.open(.datagram)
    let tcp = table.open(.stream)
    XCTAssertEqual(table.listen(udp, backlog: 1, in: &a), SocketErrno.invalid)
    XCTAssertEqual(table.accept(udp, in: &a), SocketErrno.invalid)
    XCTAssertEqual(table.connect(udp, to: ipB, port: 1, in: &a, now: 0), SocketErrno.invalid)
    XCTAssertEqual(byte.withUnsafeBytes { table.send(udp, $0, in: &a, now: 0) }, SocketErrno.notConnected)
    XCTAssertEqual(byte.withUnsafeBytes { table.sendTo(tcp, $0, to: ipB, port: 1, in: &a, now: 0) }, SocketErrno.invalid)
    XCTAssertEqual(byte.withUnsafeMutableBytes { table.receive(tcp, into: $0, in: &a, now: 0) }, SocketErrno.notConnected)
    XCTAssertEqual(table.connect(tcp, to: .any, port: 1, in: &a, now: 0), SocketErrno.invalid)
    XCTAssertEqual(table.bind(tcp, port: 5, in: &a), 0)
    XCTAssertEqual(table.listen(tcp, backlog: 0, in: &a), SocketErrno.invalid)
    XCTAssertEqual(table.open(.stream), 2)
    XCTAssertEqual(table.open(.datagram), SocketErrno.tooManyOpen)
    XCTAssertEqual(table.close(udp, in: &a, now: 0), 0)
    XCTAssertEqual(table.open(.datagram), udp, "a closed descriptor is reused")
  }
}
