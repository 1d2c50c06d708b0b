// netbench: the network receive and echo paths, each the median and p99 of
// one sample per echoed UDP datagram (guest instructions under icount):
// - kernel_rx_frame_Nfilters: the kernel's cost to receive the datagram's
//   frame, from its network interrupt to the frame in this env's ring, as the
//   kernel wrote it into the slot (NetRing.slotCost), with N filters bound;
// - libos_udp_echo: from the libOS taking the frame off the ring to
//   `net_send` returning with the echo (Ethernet, IPv4 and UDP in, the
//   socket, UDP, IPv4 and Ethernet out, and the kernel's transmit call).
// The host client sends one datagram at a time and waits for its echo, so
// the frame taken last before a datagram reaches the socket is its own.
// ARG `ACCEL-fN`: the accelerator for the JSON line, and N filters bound in
// all: the stack's two (unicast to its MAC, ARP requests for its address),
// then UDP ports 1000 onward on its own address up to N.
import LibOSNet
import LibOSRuntime
import NetRuntime

@main
struct NetBench {
  static let firstExtraPort: UInt16 = 1000

  static func main() {
    Benchmark.calibrate()
    let filters = filterCount()
    let address: IPv4Address
    let socket: UDPEndpoint
    do throws(NetError) {
      address = try Net.start()
      for i in 0..<(filters - 2) { try Net.bind(try udpPortFilter(firstExtraPort + UInt16(i), address)) }
      socket = try UDPEndpoint(port: 7)
    } catch {
      print("network: \(error.description)")
      Exo.exit(1)
    }
    if filters == 64 { checkQuota(address) }
    print("listening on \(address):7 (udp), \(filters) filters bound")

    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)
    var kernel = Samples(capacity: 1024)
    var libos = Samples(capacity: 1024)
    var failed = 0
    while true {
      // No idle deadline: under icount with sleep=off an idle guest's clock
      // races ahead of the host's, so any deadline would pass before the client sends.
      guard let got = socket.receive(into: buffer) else { break }
      if got.count == 4 && buffer[0] == UInt8(ascii: "q") && buffer[1] == UInt8(ascii: "u")
        && buffer[2] == UInt8(ascii: "i") && buffer[3] == UInt8(ascii: "t")
      {
        break
      }
      let cost = Net.frameKernelCost
      let takenAt = Net.frameTakenAt
      do throws(NetError) {
        try socket.send(UnsafeRawBufferPointer(rebasing: buffer[0..<got.count]), to: got.source, port: got.port)
      } catch {
        failed += 1
        continue
      }
      let sent = Time.now()
      kernel.add(value: cost)
      libos.add(takenAt, sent)
    }
    print(
      "netbench: echoed \(libos.values.count) datagrams (\(failed) sends failed) with \(filters) filters bound; "
        + "rdtsc pair \(Samples.overhead) \(Benchmark.accel.unit.description) subtracted from libos_udp_echo only")
    let kernelMetric: StaticString =
      filters == 64 ? "kernel_rx_frame_64filters" : filters == 2 ? "kernel_rx_frame_2filters" : "kernel_rx_frame"
    Benchmark.report("netbench", [(kernelMetric, kernel.summary()), ("libos_udp_echo", libos.summary())])
  }

  /// The manifest's quota is 64 (`filters = 64`): a 65th filter must be refused.
  static func checkQuota(_ address: IPv4Address) {
    do throws(NetError) {
      try Net.bind(try udpPortFilter(firstExtraPort + 62, address))
      print("filter quota: a 65th filter was bound")
    } catch {
      print("filter quota: a 65th filter refused: \(error.description)")
    }
  }

  /// `fN` in the argument's `-`-separated words; 2 (the stack's own) without one.
  static func filterCount() -> Int {
    let arg = App.argument
    var i = 0
    while i < arg.count {
      var end = i
      while end < arg.count && arg[end] != UInt8(ascii: "-") { end += 1 }
      if end - i >= 2 && end - i <= 3 && arg[i] == UInt8(ascii: "f") {
        var n = 0
        var digits = true
        for j in (i + 1)..<end {
          guard arg[j] >= UInt8(ascii: "0") && arg[j] <= UInt8(ascii: "9") else {
            digits = false
            break
          }
          n = n * 10 + Int(arg[j] - UInt8(ascii: "0"))
        }
        if digits && n >= 2 && n <= 64 { return n }
        print("netbench: filters must be f2 to f64; using 2")
        return 2
      }
      i = end + 1
    }
    return 2
  }

  /// UDP datagrams to `port` at this env's own MAC and address: owned by
  /// the unicast proof, and of one shape whatever the port.
  static func udpPortFilter(_ port: UInt16, _ address: IPv4Address) throws(NetError) -> PacketFilter {
    let mac = Net.mac.packed
    do throws(FilterError) {
      return try PacketFilter(atoms: [
        FilterAtom(offset: 0, size: 4, equals: UInt32(truncatingIfNeeded: mac >> 16)),
        FilterAtom(offset: 4, size: 2, equals: UInt32(truncatingIfNeeded: mac & 0xffff)),
        FilterAtom(offset: 12, size: 2, equals: 0x0800),
        FilterAtom(offset: 23, size: 1, equals: 17),
        FilterAtom(offset: 30, size: 4, equals: address.value),
        FilterAtom(base: .ipPayload, offset: 2, size: 2, equals: UInt32(port)),
      ])
    } catch {
      throw .filter(.badArgument, reason: UInt64(error.code))
    }
  }
}
