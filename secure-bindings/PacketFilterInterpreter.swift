// Runs a verified filter on a received frame. The frame is untrusted in every
// byte and in its length: each load is bounds-checked first, and a load that
// does not fit makes the filter not match, never a read out of bounds.

extension PacketFilter {
  /// Whether every atom holds for `frame`. At most 12 loads, no loops over
  /// frame data, no allocation.
  public func matches(_ frame: UnsafeRawBufferPointer) -> Bool {
    var payload = -1  // the IP payload's start, found at the first `.ipPayload` atom
    for i in 0..<count {
      let atom = atomStorage[i]
      var at = Int(atom.offset)
      if atom.base == .ipPayload {
        if payload < 0 {
          guard let start = Self.ipPayloadStart(frame) else { return false }
          payload = start
        }
        at += payload
      }
      // `at` is below 1514 + 74, `size` at most 4: no overflow.
      guard at + Int(atom.size) <= frame.count else { return false }
      var word: UInt32 = 0
      for j in 0..<Int(atom.size) { word = word << 8 | UInt32(frame[at + j]) }
      guard word & atom.mask == atom.value else { return false }
    }
    return true
  }

  /// Where an IPv4 packet's payload starts in an Ethernet frame (14 + 4 * IHL,
  /// RFC 791 §3.1), or nil when byte 14 is missing, the version is not 4, the
  /// IHL is below 5, or the header runs past the frame. The ethertype is the
  /// filter's business: a filter with `.ipPayload` atoms pins it to IPv4.
  public static func ipPayloadStart(_ frame: UnsafeRawBufferPointer) -> Int? {
    guard frame.count > 14 else { return nil }
    let versionAndLength = frame[14]
    guard versionAndLength >> 4 == 4, versionAndLength & 0x0f >= 5 else { return nil }
    let start = 14 + 4 * Int(versionAndLength & 0x0f)
    guard start <= frame.count else { return nil }
    return start
  }
}
