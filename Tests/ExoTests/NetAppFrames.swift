// Ethernet frames built byte by byte for boot tests that talk to a guest
// through the raw-frame injection link: a small writer for each header
// (with its checksum), and the hostile burst and the probes that
// NetAppBootTests sends at httpd.

/// Ethernet, ARP (RFC 826), IPv4 (RFC 791), TCP (RFC 9293), UDP (RFC 768)
/// and ICMP (RFC 792) built byte by byte, with checksums computed here
/// (RFC 1071), independently of the stack under test.
enum Wire {
  static let syn: UInt8 = 0x02
  static let rst: UInt8 = 0x04
  static let ack: UInt8 = 0x10

  static func be16(_ value: Int) -> [UInt8] {
    [UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)]
  }
  static func be32(_ value: UInt32) -> [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) } }
  static func read16(_ bytes: [UInt8], _ at: Int) -> Int { Int(bytes[at]) << 8 | Int(bytes[at + 1]) }
  static func read32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
    (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[at + $1]) }
  }

  /// The one's-complement of the one's-complement sum of 16-bit words (0 over a correct header).
  static func checksum(_ bytes: [UInt8]) -> UInt16 {
    var sum: UInt32 = 0
    var i = 0
    while i < bytes.count {
      sum += UInt32(bytes[i]) << 8 | (i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0)
      i += 2
    }
    while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
    return ~UInt16(sum)
  }

  static func ethernet(to: [UInt8], from: [UInt8], type: Int, _ payload: [UInt8]) -> [UInt8] {
    to + from + be16(type) + payload
  }

  static func arp(operation: Int, senderMAC: [UInt8], senderIP: [UInt8], targetMAC: [UInt8], targetIP: [UInt8])
    -> [UInt8]
  {
    [0, 1, 0x08, 0x00, 6, 4] + be16(operation) + senderMAC + senderIP + targetMAC + targetIP
  }

  /// An IPv4 datagram, its header checksum right unless `breakChecksum`.
  static func ipv4(
    from: [UInt8], to: [UInt8], protocol number: UInt8, _ payload: [UInt8], options: [UInt8] = [],
    identification: Int = 1, fragment: Int = 0, totalLength: Int? = nil, versionAndLength: UInt8? = nil,
    breakChecksum: Bool = false
  ) -> [UInt8] {
    var header =
      [versionAndLength ?? (0x40 | UInt8(5 + options.count / 4)), 0]
      + be16(totalLength ?? (20 + options.count + payload.count)) + be16(identification) + be16(fragment)
      + [64, number, 0, 0] + from + to + options
    let sum = checksum(header)
    header[10] = UInt8(sum >> 8)
    header[11] = UInt8(sum & 0xff) ^ (breakChecksum ? 0x5a : 0)
    return header + payload
  }

  /// A TCP segment with its checksum over the pseudo-header (§3.1);
  /// `options` is padded to whole words; `dataOffset` may lie.
  static func tcp(
    from: [UInt8], to: [UInt8], sourcePort: Int, destinationPort: Int, seq: UInt32, ack: UInt32 = 0, flags: UInt8,
    options: [UInt8] = [], payload: [UInt8] = [], dataOffset: Int? = nil
  ) -> [UInt8] {
    let padded = options + [UInt8](repeating: 0, count: (4 - options.count % 4) % 4)
    let words = dataOffset ?? (5 + padded.count / 4)
    var segment =
      be16(sourcePort) + be16(destinationPort) + be32(seq) + be32(ack) + [UInt8(truncatingIfNeeded: words << 4), flags]
      + be16(65535) + [0, 0, 0, 0] + padded + payload
    let sum = checksum(from + to + [0, 6] + be16(segment.count) + segment)
    segment[16] = UInt8(sum >> 8)
    segment[17] = UInt8(sum & 0xff)
    return segment
  }

  static func udp(
    from: [UInt8], to: [UInt8], sourcePort: Int, destinationPort: Int, _ payload: [UInt8], length: Int? = nil
  )
    -> [UInt8]
  {
    var datagram = be16(sourcePort) + be16(destinationPort) + be16(length ?? (8 + payload.count)) + [0, 0] + payload
    let sum = checksum(from + to + [0, 17] + be16(datagram.count) + datagram)
    datagram[6] = UInt8(sum >> 8)
    datagram[7] = UInt8(sum & 0xff)
    return datagram
  }

  static func icmpEcho(identifier: Int, sequence: Int, data: [UInt8]) -> [UInt8] {
    var message = [8, 0, 0, 0] + be16(identifier) + be16(sequence) + data
    let sum = checksum(message)
    message[2] = UInt8(sum >> 8)
    message[3] = UInt8(sum & 0xff)
    return message
  }
}

/// What the hostile-frame test sends. The test plays a host at 10.0.2.200
/// on the guest's network; httpd is 02:00:00:00:01:00 at 10.0.2.100.
enum HostileFrames {
  static let guestMAC: [UInt8] = [0x02, 0, 0, 0, 0x01, 0x00]
  static let guestIP: [UInt8] = [10, 0, 2, 100]
  static let gatewayIP: [UInt8] = [10, 0, 2, 2]
  static let hostMAC: [UInt8] = [0x02, 0, 0, 0, 0x0f, 0x01]
  static let hostIP: [UInt8] = [10, 0, 2, 200]
  static let foreignMAC: [UInt8] = [0x02, 0, 0, 0, 0x99, 0x99]
  static let bogusMAC: [UInt8] = [0x02, 0xde, 0xad, 0xbe, 0xef, 0x01]
  static let broadcast: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]

  static func ipFrame(to mac: [UInt8] = guestMAC, from: [UInt8] = hostMAC, _ datagram: [UInt8]) -> [UInt8] {
    Wire.ethernet(to: mac, from: from, type: 0x0800, datagram)
  }

  static func syn(
    sourcePort: Int, destinationPort: Int, seq: UInt32, from ip: [UInt8] = hostIP, options: [UInt8] = [],
    to mac: [UInt8] = guestMAC
  ) -> [UInt8] {
    let segment = Wire.tcp(
      from: ip, to: guestIP, sourcePort: sourcePort, destinationPort: destinationPort, seq: seq, flags: Wire.syn,
      options: options)
    return ipFrame(to: mac, Wire.ipv4(from: ip, to: guestIP, protocol: 6, segment))
  }

  static func ping(identifier: Int, sequence: Int, data: [UInt8]) -> [UInt8] {
    ipFrame(
      Wire.ipv4(
        from: hostIP, to: guestIP, protocol: 1, Wire.icmpEcho(identifier: identifier, sequence: sequence, data: data)))
  }

  static var arpRequestFromHost: [UInt8] {
    Wire.ethernet(
      to: broadcast, from: hostMAC, type: 0x0806,
      Wire.arp(operation: 1, senderMAC: hostMAC, senderIP: hostIP, targetMAC: [0, 0, 0, 0, 0, 0], targetIP: guestIP))
  }

  /// Another MAC says it is 10.0.2.100.
  static var conflictingARP: [UInt8] {
    Wire.ethernet(
      to: broadcast, from: bogusMAC, type: 0x0806,
      Wire.arp(operation: 2, senderMAC: bogusMAC, senderIP: guestIP, targetMAC: broadcast, targetIP: guestIP))
  }

  /// A broadcast ARP packet from the guest giving its own address and MAC (an announcement or a reply).
  static func isAnnouncementOfGuest(_ frame: [UInt8]) -> Bool {
    frame.count >= 42 && Array(frame[0..<6]) == broadcast && Array(frame[6..<12]) == guestMAC
      && Wire.read16(frame, 12) == 0x0806 && Array(frame[22..<28]) == guestMAC && Array(frame[28..<32]) == guestIP
  }

  static func isFromGuestToHost(_ frame: [UInt8], type: Int) -> Bool {
    frame.count >= 42 && Array(frame[0..<6]) == hostMAC && Array(frame[6..<12]) == guestMAC
      && Wire.read16(frame, 12) == type
  }

  static func isARPReplyToHost(_ frame: [UInt8]) -> Bool {
    isFromGuestToHost(frame, type: 0x0806) && Wire.read16(frame, 20) == 2 && Array(frame[22..<28]) == guestMAC
      && Array(frame[28..<32]) == guestIP && Array(frame[38..<42]) == hostIP
  }

  static func isEchoReply(_ frame: [UInt8], identifier: Int, sequence: Int) -> Bool {
    isFromGuestToHost(frame, type: 0x0800) && frame[23] == 1 && Array(frame[26..<30]) == guestIP
      && Array(frame[30..<34]) == hostIP && frame[34] == 0 && Wire.read16(frame, 38) == identifier
      && Wire.read16(frame, 40) == sequence
  }

  static func isReset(_ frame: [UInt8], from sourcePort: Int, to destinationPort: Int) -> Bool {
    isFromGuestToHost(frame, type: 0x0800) && frame.count >= 54 && frame[23] == 6
      && Wire.read16(frame, 34) == sourcePort
      && Wire.read16(frame, 36) == destinationPort && frame[47] & Wire.rst != 0
  }

  /// The burst, in a fixed order from `random`, and how many of its frames
  /// are addressed to other MACs (which the kernel must find no owner for).
  static func burst<R: RandomNumberGenerator>(_ random: inout R) -> (frames: [(String, [UInt8])], toOtherMACs: Int) {
    var frames: [(String, [UInt8])] = []
    func add(_ label: String, _ frame: [UInt8]) { frames.append((label, frame)) }
    /// An IPv4 frame to the guest, from the test's host unless said otherwise.
    func ip(
      _ number: UInt8, _ payload: [UInt8], from: [UInt8] = hostIP, to: [UInt8] = guestIP, options: [UInt8] = [],
      identification: Int = 1, fragment: Int = 0, totalLength: Int? = nil, versionAndLength: UInt8? = nil,
      breakChecksum: Bool = false
    ) -> [UInt8] {
      ipFrame(
        Wire.ipv4(
          from: from, to: to, protocol: number, payload, options: options, identification: identification,
          fragment: fragment, totalLength: totalLength, versionAndLength: versionAndLength,
          breakChecksum: breakChecksum))
    }
    func tcp(
      _ sourcePort: Int, _ destinationPort: Int, seq: UInt32, ack: UInt32 = 0, flags: UInt8, from: [UInt8] = hostIP,
      payload: [UInt8] = [], dataOffset: Int? = nil
    ) -> [UInt8] {
      Wire.tcp(
        from: from, to: guestIP, sourcePort: sourcePort, destinationPort: destinationPort, seq: seq, ack: ack,
        flags: flags, payload: payload, dataOffset: dataOffset)
    }
    func udp(_ destinationPort: Int, _ payload: [UInt8], length: Int? = nil) -> [UInt8] {
      Wire.udp(from: hostIP, to: guestIP, sourcePort: 5000, destinationPort: destinationPort, payload, length: length)
    }
    func arp(
      _ operation: Int, to mac: [UInt8], from frameMAC: [UInt8], sender: [UInt8], _ senderIP: [UInt8], target: [UInt8]
    ) -> [UInt8] {
      Wire.ethernet(
        to: mac, from: frameMAC, type: 0x0806,
        Wire.arp(
          operation: operation, senderMAC: sender, senderIP: senderIP, targetMAC: [0, 0, 0, 0, 0, 0], targetIP: target))
    }

    let goodSYN = syn(sourcePort: 40_000, destinationPort: 80, seq: 1000)
    let synSegment = Array(goodSYN[34...])

    // Truncated at every layer, and IPv4 lengths that lie.
    for length in [1, 6, 13, 14, 20, 33, 34, 40, 53] {
      add("truncated to \(length) bytes", Array(goodSYN.prefix(length)))
    }
    add("IPv4 total length beyond the frame", ip(6, synSegment, totalLength: 1400))
    add("IPv4 total length 0xffff", ip(6, synSegment, totalLength: 0xffff))
    add("IPv4 total length below its header", ip(6, synSegment, totalLength: 12))

    // Bad checksums, header lengths and versions.
    add("bad IPv4 checksum", ip(6, synSegment, breakChecksum: true))
    var badTCPSum = goodSYN
    badTCPSum[50] ^= 0xff
    add("bad TCP checksum", badTCPSum)
    add("IHL 15 on a 40-byte datagram", ip(6, synSegment, versionAndLength: 0x4f))
    add("IHL 15 with 40 bytes of random options", ip(6, synSegment, options: bytes(&random, 40)))
    add("IHL 4", ip(6, synSegment, versionAndLength: 0x44))
    add("IHL 0", ip(6, synSegment, versionAndLength: 0x40))
    add("version 6 in an IPv4 frame", ip(6, synSegment, versionAndLength: 0x65))

    // TCP headers that lie, and option lists that would loop a careless parser.
    for offset in [0, 4, 15] {
      add("TCP data offset \(offset)", ip(6, tcp(40_002, 80, seq: 7, flags: Wire.syn, dataOffset: offset)))
    }
    let options: [(String, [UInt8])] = [
      ("MSS of length 0", [2, 0, 5, 180]), ("option of length 1", [3, 1, 0, 0]),
      ("option of length 255", [8, 255, 1, 2]),
      ("window scale 200", [1, 3, 3, 200]),
    ]
    for (name, list) in options {
      add("SYN to closed port 81 with \(name)", syn(sourcePort: 40_003, destinationPort: 81, seq: 9, options: list))
    }
    add(
      "SYN to port 80 with an MSS of length 0",
      syn(sourcePort: 40_004, destinationPort: 80, seq: 11, options: [2, 0, 2, 0]))
    add("SYN+RST+FIN to port 80", ip(6, tcp(40_005, 80, seq: 5, flags: 0x07)))
    add(
      "data on an ACK to port 80 with no connection",
      ip(6, tcp(40_006, 80, seq: 5, ack: 77, flags: Wire.ack, payload: Array("GET / HTTP/1.1\r\n\r\n".utf8))))
    for i in 0..<8 {
      add("SYN to closed port \(81 + i)", syn(sourcePort: 41_000 + i, destinationPort: 81 + i, seq: UInt32(i)))
    }
    // Blind resets from the gateway at random ports and sequence numbers (RFC 5961 §3).
    for _ in 0..<8 {
      let port = 1024 + below(&random, 60_000)
      let seq = UInt32(truncatingIfNeeded: random.next())
      add("blind RST", ip(6, tcp(port, 80, seq: seq, flags: Wire.rst, from: gatewayIP), from: gatewayIP))
    }

    // ARP: the gateway's address claimed with a bogus MAC, senders no cache may learn, malformed packets.
    add(
      "ARP reply: 10.0.2.2 is at a bogus MAC",
      arp(2, to: guestMAC, from: bogusMAC, sender: bogusMAC, gatewayIP, target: guestIP))
    add(
      "gratuitous ARP: 10.0.2.2 is at a bogus MAC",
      arp(1, to: broadcast, from: bogusMAC, sender: bogusMAC, gatewayIP, target: gatewayIP))
    let senders: [(String, [UInt8])] = [
      ("broadcast", broadcast), ("multicast", [0x01, 0, 0x5e, 0, 0, 1]), ("zero", [0, 0, 0, 0, 0, 0]),
      ("the guest's own", guestMAC),
    ]
    for (name, mac) in senders {
      add(
        "ARP request from \(name) MAC",
        arp(1, to: broadcast, from: hostMAC, sender: mac, [10, 0, 2, 77], target: guestIP))
    }
    add(
      "ARP from outside the subnet",
      arp(1, to: broadcast, from: hostMAC, sender: hostMAC, [192, 168, 9, 9], target: guestIP))
    add("truncated ARP", Array(arpRequestFromHost.prefix(30)))
    var wrongSizes = arpRequestFromHost
    wrongSizes[18] = 8
    wrongSizes[19] = 16
    add("ARP with 8-byte MACs and 16-byte addresses", wrongSizes)

    // Spoofed sources.
    add("land SYN: from 10.0.2.100:80 to itself", syn(sourcePort: 80, destinationPort: 80, seq: 3, from: guestIP))
    add("SYN from the subnet broadcast", syn(sourcePort: 40_007, destinationPort: 80, seq: 3, from: [10, 0, 2, 255]))
    add("SYN from 255.255.255.255", syn(sourcePort: 40_008, destinationPort: 80, seq: 3, from: [255, 255, 255, 255]))
    add(
      "SYN from the guest's own MAC", Wire.ethernet(to: guestMAC, from: guestMAC, type: 0x0800, Array(goodSYN[14...])))
    add(
      "ping to the subnet broadcast",
      Wire.ethernet(
        to: broadcast, from: hostMAC, type: 0x0800,
        Wire.ipv4(
          from: hostIP, to: [10, 0, 2, 255], protocol: 1,
          Wire.icmpEcho(identifier: 1, sequence: 1, data: bytes(&random, 32)))))

    // ICMP and UDP that are wrong, and fragments.
    var badPing = Wire.icmpEcho(identifier: 2, sequence: 2, data: bytes(&random, 64))
    badPing[2] ^= 0x11
    add("ping with a bad checksum", ip(1, badPing))
    add("4-byte ICMP", ip(1, [8, 0, 0xf7, 0xff]))
    add("UDP to closed port 9", ip(17, udp(9, bytes(&random, 20))))
    add("UDP length beyond the datagram", ip(17, udp(9, bytes(&random, 20), length: 900)))
    add("UDP length 3", ip(17, udp(9, bytes(&random, 20), length: 3)))
    add("unknown protocol 200", ip(200, bytes(&random, 30)))
    add("first fragment of 10", ip(17, bytes(&random, 96), identification: 10, fragment: 0x2000))
    add("overlapping fragment of 10 (teardrop)", ip(17, bytes(&random, 16), identification: 10, fragment: 0x2000 | 3))
    // A last fragment (MF clear, offset > 0) is sent only after a first
    // one: alone, it makes QEMU 7.2's libslirp 4.7.0, which sees every
    // injected frame through the hub too, die of SIGBUS.
    add("first fragment of 11", ip(17, bytes(&random, 96), identification: 11, fragment: 0x2000))
    add("last fragment of 11, ending beyond 65535", ip(17, bytes(&random, 200), identification: 11, fragment: 0x1fff))
    let whole = udp(9, bytes(&random, 128))
    add("first fragment of 12", ip(17, Array(whole[..<96]), identification: 12, fragment: 0x2000))
    add("last fragment of 12", ip(17, Array(whole[96...]), identification: 12, fragment: 12))
    for id in 0..<12 {
      add("a lone middle fragment \(id)", ip(17, bytes(&random, 64), identification: 100 + id, fragment: 0x2000 | 8))
    }

    // Frames for other MACs, which no env owns.
    var toOtherMACs = 0
    for i in 0..<10 {
      add("SYN to a foreign MAC", syn(sourcePort: 42_000 + i, destinationPort: 80, seq: 1, to: foreignMAC))
      toOtherMACs += 1
    }
    add(
      "ARP for the guest sent to a foreign MAC",
      arp(1, to: foreignMAC, from: hostMAC, sender: hostMAC, hostIP, target: guestIP))
    toOtherMACs += 1

    // Longer than an Ethernet frame.
    for length in [1515, 1600, 2030, 4000, 9000] {
      add("oversized \(length) bytes", ip(17, bytes(&random, length - 34)))
    }

    // Random bytes (property-style): whole frames, then frames to the guest
    // with a random EtherType, then the good SYN with a few bytes changed.
    for _ in 0..<64 {
      let length = below(&random, 1515)
      add("random frame", bytes(&random, length))
    }
    for _ in 0..<64 {
      let type = [0x0800, 0x0806, 0x86dd, below(&random, 65536)][below(&random, 4)]
      let length = below(&random, 1501)
      add("random \(type) payload", Wire.ethernet(to: guestMAC, from: hostMAC, type: type, bytes(&random, length)))
    }
    for _ in 0..<128 {
      var mutated = goodSYN
      for _ in 0..<(1 + below(&random, 6)) {
        mutated[14 + below(&random, mutated.count - 14)] = UInt8(truncatingIfNeeded: random.next())
      }
      add("mutated SYN", mutated)
    }
    return (frames, toOtherMACs)
  }

  /// `count` bytes from `random`.
  private static func bytes<R: RandomNumberGenerator>(_ random: inout R, _ count: Int) -> [UInt8] {
    (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
  }

  /// A number in 0..<bound from `random`.
  private static func below<R: RandomNumberGenerator>(_ random: inout R, _ bound: Int) -> Int {
    Int.random(in: 0..<bound, using: &random)
  }
}
