// Host tests of how the kernel learns a DHCP env's address: only a
// well-formed DHCPACK for the env's MAC, answering the env's own latest
// request, binds, and only a usable unicast address; every truncation and
// random mutation of an ACK is refused without a read out of bounds.
import SecureBindings
import XCTest

final class DHCPBindingTests: XCTestCase {
  static let mac: UInt64 = 0x0200_0000_0150
  static let macBytes: [UInt8] = [0x02, 0, 0, 0, 0x01, 0x50]
  static let xid: UInt32 = 0x1234_5678

  /// A BOOTP message (RFC 951 layout; RFC 2131 §2) in an Ethernet/IPv4/UDP frame.
  static func frame(
    op: UInt8 = 2, xid: UInt32 = xid, yiaddr: [UInt8] = [10, 0, 2, 15], chaddr: [UInt8] = macBytes,
    type: UInt8? = 5, sourcePort: Int = 67, destinationPort: Int = 68, cookie: UInt32 = 0x6382_5363,
    extraOptions: [UInt8] = [], fragment: Int = 0, server: [UInt8] = [10, 0, 2, 2]
  ) -> [UInt8] {
    var bootp = [op, 1, 6, 0] + Wire.be32(xid) + [0, 0, 0x80, 0] + [0, 0, 0, 0] + yiaddr + [10, 0, 2, 2]
      + [0, 0, 0, 0] + chaddr + [UInt8](repeating: 0, count: 10) + [UInt8](repeating: 0, count: 192)
    bootp += Wire.be32(cookie) + extraOptions
    if let type { bootp += [53, 1, type] }
    bootp += [54, 4] + server + [255]
    let from: [UInt8] = sourcePort == 67 ? [10, 0, 2, 2] : [0, 0, 0, 0]
    let to: [UInt8] = [255, 255, 255, 255]
    let udp = Wire.udp(from: from, to: to, sourcePort: sourcePort, destinationPort: destinationPort, bootp)
    return Wire.ethernet(
      to: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff], from: [0x52, 0x55, 10, 0, 2, 2], type: 0x0800,
      Wire.ipv4(from: from, to: to, protocol: 17, udp, fragment: fragment))
  }

  static func leased(_ bytes: [UInt8], mac: UInt64 = mac, xid: UInt32 = xid) -> UInt32? {
    bytes.withUnsafeBytes { DHCPBinding.leasedAddress(in: $0, mac: mac, xid: xid) }
  }

  func testAnACKForOurRequestBindsItsAddress() {
    XCTAssertEqual(Self.leased(Self.frame()), 0x0a00_020f)
    // Pads before the message type, and an IPv4 header with options, still read.
    XCTAssertEqual(Self.leased(Self.frame(extraOptions: [0, 0, 0, 12, 3, 0x65, 0x78, 0x6f])), 0x0a00_020f)
  }

  func testAnythingElseBindsNothing() {
    let refused: [(String, [UInt8])] = [
      ("an OFFER", Self.frame(type: 2)),
      ("a NAK", Self.frame(type: 6)),
      ("no message type", Self.frame(type: nil)),
      ("another client's ACK", Self.frame(chaddr: [0x02, 0, 0, 0, 0x01, 0x51])),
      ("an unsolicited ACK (another xid)", Self.frame(xid: 0x1234_5679)),
      ("a request, not a reply", Self.frame(op: 1)),
      ("wrong ports", Self.frame(sourcePort: 68, destinationPort: 67)),
      ("no magic cookie", Self.frame(cookie: 0x6382_5364)),
      ("a fragment", Self.frame(fragment: 0x2000)),
      ("address 0.0.0.0", Self.frame(yiaddr: [0, 0, 0, 0])),
      ("a loopback address", Self.frame(yiaddr: [127, 0, 0, 1])),
      ("a multicast address", Self.frame(yiaddr: [224, 0, 0, 1])),
      ("the broadcast address", Self.frame(yiaddr: [255, 255, 255, 255])),
      ("an option running past the frame", Self.frame(type: nil, extraOptions: [53, 40, 5])),
      ("a two-byte message type", Self.frame(type: nil, extraOptions: [53, 2, 5, 5])),
    ]
    for (what, bytes) in refused { XCTAssertNil(Self.leased(bytes), what) }
  }

  /// The kernel notes the xid of the env's own requests, and of nothing else.
  func testTheRequestIDIsReadOnlyFromARequest() {
    let request = Self.frame(op: 1, xid: 0xcafe_f00d, type: 3, sourcePort: 68, destinationPort: 67)
    XCTAssertEqual(request.withUnsafeBytes { DHCPBinding.requestID(in: $0) }, 0xcafe_f00d)
    // What the kernel has of a large frame: its first 128 bytes.
    XCTAssertEqual(request.withUnsafeBytes { DHCPBinding.requestID(in: UnsafeRawBufferPointer(rebasing: $0[0..<128])) }, 0xcafe_f00d)
    XCTAssertNil(Self.frame().withUnsafeBytes { DHCPBinding.requestID(in: $0) }, "a reply")
    XCTAssertNil(
      Self.frame(op: 1, sourcePort: 68, destinationPort: 68).withUnsafeBytes { DHCPBinding.requestID(in: $0) })
  }

  /// Every prefix of an ACK, and thousands of random mutations of it:
  /// never a crash, and an address only from a frame that still holds a
  /// whole ACK for us.
  func testTruncatedAndMutatedACKsAreSafe() {
    let ack = Self.frame()
    for count in 0..<ack.count { XCTAssertNil(Self.leased(Array(ack[0..<count])), "\(count) bytes") }
    var random = SplitMix64(state: 2131)
    var bound = 0
    for _ in 0..<20_000 {
      var bytes = ack
      for _ in 0..<(1 + Int(random.next() % 4)) {
        bytes[Int(random.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: random.next())
      }
      if random.next() % 4 == 0 { bytes.removeLast(Int(random.next() % UInt64(bytes.count))) }
      if let address = Self.leased(bytes) {
        bound += 1
        XCTAssertTrue(DHCPBinding.isUsableUnicast(address))
        XCTAssertEqual(Array(bytes[(14 + 20 + 8 + 28)..<(14 + 20 + 8 + 34)]), Self.macBytes)
      }
    }
    XCTAssertGreaterThan(bound, 0, "mutations of bytes nobody checks still bind")
  }
}
