// netbad: an env with a network binding (10.0.2.130) that tries to speak
// for others and to break the kernel's network tables. Every attempt must
// come back as the right error code; an honest app beside it (the boot
// test runs udp-echo) must go on serving as if nothing happened.
import LibOSNet
import LibOSRuntime
import NetRuntime

@main
struct NetBad {
  nonisolated(unsafe) static var wrong = 0
  nonisolated(unsafe) static var checked = 0

  static func expect(_ what: StaticString, _ status: UInt64, _ error: ExoError?) {
    checked += 1
    let want = error?.rawValue ?? 0
    if status == want {
      print("ok \(what.description): status \(status)")
    } else {
      wrong += 1
      print("WRONG \(what.description): status \(status), expected \(want)")
    }
  }

  static let me = MACAddress(0x02, 0, 0, 0, 0x01, 0x30)
  /// udp-echo's, which this env must not speak for.
  static let udpEchoMAC = MACAddress(0x02, 0, 0, 0, 0x01, 0x10)
  static let myIP = IPv4Address(10, 0, 2, 130)

  /// A minimal frame: Ethernet header, then an IPv4 header's fields the kernel checks.
  static func frame(source: MACAddress, type: UInt16, ipSource: IPv4Address, length: Int = 60) -> [UInt8] {
    var f = [UInt8](repeating: 0, count: length)
    f.withUnsafeMutableBytes { b in
      MACAddress(0x52, 0x55, 10, 0, 2, 2).store(to: b, at: 0)
      source.store(to: b, at: 6)
      b[12] = UInt8(type >> 8)
      b[13] = UInt8(type & 0xff)
      if length >= 34 {
        b[14] = 0x45
        ipSource.store(to: b, at: 26)
        IPv4Address(10, 0, 2, 2).store(to: b, at: 30)
      }
    }
    return f
  }

  static func send(_ bytes: [UInt8]) -> UInt64 {
    bytes.withUnsafeBytes { b in
      Exo.rawCall(KernelCall.netSend.rawValue, UInt64(UInt(bitPattern: b.baseAddress)), UInt64(b.count)).status
    }
  }

  static func bind(_ filter: PacketFilter) -> (UInt64, UInt64) {
    var bytes = [UInt8](repeating: 0, count: filter.encodedCount)
    return bytes.withUnsafeMutableBytes { b in
      _ = filter.encode(into: b)
      let r = Exo.rawCall(KernelCall.netBind.rawValue, UInt64(UInt(bitPattern: b.baseAddress)), UInt64(b.count))
      return (r.status, r.value)
    }
  }

  /// Two pages of its own at a place no runtime uses.
  static let sendPages: UInt64 = 0x3100_0000_0000

  /// Large frames go to the device from the env's own frames (only their
  /// first bytes are copied and checked): a spoofed header is still caught,
  /// a frame running into an unmapped page is refused, and freeing the
  /// frames right after a send waits for the device instead of failing or
  /// handing the device's memory to someone else.
  static func chainedSends() {
    let pages: [FrameCapability]
    do {
      pages = [try Exo.frameAlloc(), try Exo.frameAlloc()]
      _ = try ExoPageKernel().mapSupplyingTables(sendPages, pages[0], .write)
      _ = try ExoPageKernel().mapSupplyingTables(sendPages + UserSpace.pageSize, pages[1], .write)
    } catch {
      print("WRONG cannot map two pages to send from: \(error.name.description)")
      wrong += 1
      return
    }
    // 1,400 bytes across the page boundary: header and 100 bytes in the first page.
    let start = sendPages + UserSpace.pageSize - 200
    let honest = frame(source: me, type: 0x0800, ipSource: myIP, length: 1400)
    let place = UnsafeMutableRawPointer(bitPattern: UInt(start))!
    honest.withUnsafeBytes { place.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    let sendAt = { (address: UInt64, length: UInt64) in Exo.rawCall(KernelCall.netSend.rawValue, address, length).status }
    expect("a 1400-byte frame across two pages", sendAt(start, 1400), nil)
    udpEchoMAC.store(to: UnsafeMutableRawBufferPointer(start: place, count: 14), at: 6)
    expect("a 1400-byte frame as another MAC", sendAt(start, 1400), .spoofed)
    me.store(to: UnsafeMutableRawBufferPointer(start: place, count: 14), at: 6)
    expect("a frame running into an unmapped page", sendAt(sendPages + 2 * UserSpace.pageSize - 100, 1400), .badAddress)
    for _ in 0..<8 { _ = sendAt(start, 1400) }
    expect("unmap the pages just sent from", Exo.rawCall(KernelCall.unmap.rawValue, sendPages, 2).status, nil)
    expect("free a frame just sent from", Exo.rawCall(KernelCall.frameFree.rawValue, pages[0].raw).status, nil)
    expect("free the other", Exo.rawCall(KernelCall.frameFree.rawValue, pages[1].raw).status, nil)
  }

  static func main() {
    let other = udpEchoMAC
    // Sending: only frames that speak for this env's own (MAC, IPv4) leave.
    expect("send as another MAC", send(frame(source: other, type: 0x0800, ipSource: myIP)), .spoofed)
    expect("send as another IPv4", send(frame(source: me, type: 0x0800, ipSource: IPv4Address(10, 0, 2, 110))), .spoofed)
    var arp = frame(source: me, type: 0x0806, ipSource: .any)
    arp.withUnsafeMutableBytes { other.store(to: $0, at: 22) }
    expect("ARP with another sender", send(arp), .spoofed)
    expect("IPv6 frame", send(frame(source: me, type: 0x86dd, ipSource: myIP)), .spoofed)
    expect("13-byte frame", send([UInt8](repeating: 0, count: 13)), .badLength)
    expect("1515-byte frame", send(frame(source: me, type: 0x0800, ipSource: myIP, length: 1515)), .badLength)
    expect(
      "frame in the kernel half",
      Exo.rawCall(KernelCall.netSend.rawValue, 0xffff_ffff_8010_0000, 60).status, .badAddress)
    expect("an honest frame", send(frame(source: me, type: 0x0800, ipSource: myIP)), nil)

    // Binding: filters must prove this env's binding and be well formed.
    expect("filter for another MAC", bind(PacketFilter.unicast(mac: other.packed)).0, .badFilter)
    expect("ARP filter for another IPv4", bind(PacketFilter.arpRequests(for: IPv4Address(10, 0, 2, 110).value)).0, .badFilter)
    let catchAll = try! PacketFilter(atoms: [FilterAtom(offset: 12, size: 2, equals: 0x0800)])
    let refused = bind(catchAll)
    expect("catch-all IPv4 filter", refused.0, .badFilter)
    checked += 1
    if refused.1 != FilterError.notOwnerCode { wrong += 1 }
    print("catch-all refused with reason \(refused.1)")
    var garbage: [UInt8] = [0x44, 0x50, 0x46, 0x31, 200, 0, 0, 0]
    expect(
      "program claiming 200 atoms",
      garbage.withUnsafeMutableBytes { b in
        Exo.rawCall(KernelCall.netBind.rawValue, UInt64(UInt(bitPattern: b.baseAddress)), UInt64(b.count)).status
      }, .badFilter)
    var long = [UInt8](repeating: 0, count: 300)
    expect(
      "300-byte program",
      long.withUnsafeMutableBytes { b in
        Exo.rawCall(KernelCall.netBind.rawValue, UInt64(UInt(bitPattern: b.baseAddress)), UInt64(b.count)).status
      }, .badLength)
    let own = bind(PacketFilter.unicast(mac: me.packed))
    expect("own unicast filter", own.0, nil)
    expect("unbind a made-up filter id", Exo.rawCall(KernelCall.netUnbind.rawValue, 0xdead_0001).status, .badArgument)
    expect("unbind own filter", Exo.rawCall(KernelCall.netUnbind.rawValue, own.1).status, nil)
    expect("unbind it twice", Exo.rawCall(KernelCall.netUnbind.rawValue, own.1).status, .badArgument)

    // The ring: frames this env owns, attached once, pinned while attached.
    expect("attach one frame", Exo.rawCall(KernelCall.netAttach.rawValue, 0x1000, 1).status, .badLength)
    expect("attach 40 frames", Exo.rawCall(KernelCall.netAttach.rawValue, 0x1000, 40).status, .badLength)
    var forged: [UInt64] = [(1 << 16) | 1, (2 << 16) | 1]  // frames 1 and 2: the kernel's, never this env's
    expect(
      "attach forged capabilities",
      forged.withUnsafeMutableBufferPointer { b in
        Exo.rawCall(KernelCall.netAttach.rawValue, UInt64(UInt(bitPattern: b.baseAddress)), 2).status
      }, .badCapability)
    // A ring of two of its own frames: accepted once, then pinned.
    let ring: [FrameCapability]
    do { ring = [try Exo.frameAlloc(), try Exo.frameAlloc()] } catch {
      print("no frames for the ring")
      Exo.exit(1)
    }
    let raw = ring.map { $0.raw }
    let attach = { (b: UnsafeBufferPointer<UInt64>) in
      Exo.rawCall(KernelCall.netAttach.rawValue, UInt64(UInt(bitPattern: b.baseAddress)), UInt64(b.count)).status
    }
    let twice = [raw[0], raw[0]]
    expect("attach the same frame twice", twice.withUnsafeBufferPointer(attach), .badArgument)
    expect("attach own frames", raw.withUnsafeBufferPointer(attach), nil)
    expect("attach a second ring", raw.withUnsafeBufferPointer(attach), .busy)
    expect("free a frame of the attached ring", Exo.rawCall(KernelCall.frameFree.rawValue, raw[1]).status, .frameInUse)
    chainedSends()
    if wrong == 0 {
      print("all \(checked) hostile network calls answered correctly")
      Exo.exit(0)
    }
    print("\(wrong) of \(checked) answered wrongly")
    Exo.exit(1)
  }
}
