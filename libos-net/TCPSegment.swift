// One received segment, parsed and checked before any state is touched
// (RFC 9293 §3.1 header, §3.2 options): the checksum over the pseudo-header,
// the data offset, and every option's length. Anything malformed is an
// error the caller counts; nothing here can trap on what the wire says.

struct TCPFlags: OptionSet {
  let rawValue: UInt8
  static let fin = TCPFlags(rawValue: 0x01)
  static let syn = TCPFlags(rawValue: 0x02)
  static let rst = TCPFlags(rawValue: 0x04)
  static let psh = TCPFlags(rawValue: 0x08)
  static let ack = TCPFlags(rawValue: 0x10)
  static let urg = TCPFlags(rawValue: 0x20)
}

/// The options TCP acts on; the rest are parsed for length and ignored
/// (timestamps and SACK are not implemented).
struct TCPOptions {
  var mss: UInt16? = nil
  var windowScale: UInt8? = nil
}

enum TCPSegmentError: Error, Equatable {
  case badLength, badChecksum, badDataOffset, badPort, badOptions
}

struct TCPSegment {
  static let protocolNumber: UInt8 = 6
  static let headerLength = 20

  var sourcePort: UInt16
  var destinationPort: UInt16
  var seq: TCPSequence
  var ack: TCPSequence
  var flags: TCPFlags
  var window: UInt16
  var options: TCPOptions
  /// The data, a view into the caller's buffer: valid only during `input`.
  var payload: UnsafeRawBufferPointer

  var syn: Bool { flags.contains(.syn) }
  var fin: Bool { flags.contains(.fin) }
  var rst: Bool { flags.contains(.rst) }
  var hasAck: Bool { flags.contains(.ack) }

  /// SEG.LEN: the data plus one for each of SYN and FIN.
  var length: UInt32 { UInt32(payload.count) + (syn ? 1 : 0) + (fin ? 1 : 0) }

  static func parse(
    _ bytes: UnsafeRawBufferPointer, source: IPv4Address, destination: IPv4Address
  ) throws(TCPSegmentError) -> TCPSegment {
    guard bytes.count >= headerLength, bytes.count <= 0xffff else { throw .badLength }
    var sum = InternetChecksum()
    sum.addPseudoHeader(source: source, destination: destination, protocol: protocolNumber, length: bytes.count)
    sum.add(bytes)
    guard sum.verifies else { throw .badChecksum }
    let dataOffset = Int(bytes[12] >> 4) * 4
    guard dataOffset >= headerLength, dataOffset <= bytes.count else { throw .badDataOffset }
    let sourcePort = read16(bytes, 0)
    let destinationPort = read16(bytes, 2)
    guard sourcePort != 0, destinationPort != 0 else { throw .badPort }
    let options = try parseOptions(UnsafeRawBufferPointer(rebasing: bytes[headerLength..<dataOffset]))
    return TCPSegment(
      sourcePort: sourcePort, destinationPort: destinationPort, seq: TCPSequence(read32(bytes, 4)),
      ack: TCPSequence(read32(bytes, 8)), flags: TCPFlags(rawValue: bytes[13] & 0x3f), window: read16(bytes, 14),
      options: options, payload: UnsafeRawBufferPointer(rebasing: bytes[dataOffset...]))
  }

  /// RFC 9293 §3.2: kinds 0 and 1 are one byte; every other option carries
  /// a length that covers its kind and length bytes and stays in the header.
  /// A bad length drops the segment (MUST-7 says to be prepared for it).
  static func parseOptions(_ area: UnsafeRawBufferPointer) throws(TCPSegmentError) -> TCPOptions {
    var options = TCPOptions()
    var i = 0
    while i < area.count {
      let kind = area[i]
      if kind == 0 { break }  // end of option list
      if kind == 1 {  // no-operation
        i += 1
        continue
      }
      guard i + 1 < area.count else { throw .badOptions }
      let length = Int(area[i + 1])
      guard length >= 2, length <= area.count - i else { throw .badOptions }
      switch kind {
      case 2:  // MSS
        guard length == 4 else { throw .badOptions }
        options.mss = UInt16(area[i + 2]) << 8 | UInt16(area[i + 3])
      case 3:  // window scale (RFC 7323 §2.2)
        guard length == 3 else { throw .badOptions }
        options.windowScale = area[i + 2]
      case 4:  // SACK permitted: parsed, not used
        guard length == 2 else { throw .badOptions }
      case 8:  // timestamps: parsed, not used
        guard length == 10 else { throw .badOptions }
      default:
        break
      }
      i += length
    }
    return options
  }

  /// Removes `n` units of sequence space from the front (SYN first, then
  /// data, then a FIN that would then be a duplicate), as RFC 9293
  /// §3.10.7.4 trims what lies before RCV.NXT.
  mutating func trimFront(_ n: UInt32) {
    var n = n
    if n > 0 && syn {
      flags.remove(.syn)
      seq += 1
      n -= 1
    }
    let data = min(Int(min(n, UInt32(Int32.max))), payload.count)
    if data > 0 {
      payload = UnsafeRawBufferPointer(rebasing: payload[data...])
      seq += UInt32(data)
      n -= UInt32(data)
    }
    if n > 0 && fin {
      flags.remove(.fin)
      seq += 1
    }
  }

  /// Keeps at most `n` units of sequence space from SEG.SEQ: what lies past
  /// the right edge of the receive window goes, the FIN with it.
  mutating func trimBack(toLength n: UInt32) {
    guard length > n else { return }
    var room = n
    if syn { room = room > 0 ? room - 1 : 0 }
    if UInt32(payload.count) > room {
      payload = UnsafeRawBufferPointer(rebasing: payload[..<Int(room)])
    }
    flags.remove(.fin)
    if n == 0 { flags.remove(.syn) }
  }

  @inline(__always)
  static func read16(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt16 { UInt16(b[at]) << 8 | UInt16(b[at + 1]) }
  @inline(__always)
  static func read32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
    UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
  }
}
