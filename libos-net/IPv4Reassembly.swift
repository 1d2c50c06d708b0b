// Reassembly of IPv4 fragments (RFC 791 §3.2, RFC 1122 §3.3.2), with a
// bitmap of 8-byte blocks received per datagram instead of RFC 815's hole
// list: the bitmap is sized once and cannot be made to grow by a hostile
// order of pieces. Bounded: a few datagrams at once (a fragment for a new
// one is dropped when every slot is busy), each at most the configured
// size, each given up after the timeout.
//
// Overlaps are not merged. A piece wholly inside what is already held is a
// duplicate and is dropped (the first copy wins); a piece that partly
// overlaps, or that disagrees about where the datagram ends, discards the
// whole datagram, as Linux does since 4.19 and RFC 5722 asks for IPv6, so
// that no two readers of the same fragments can assemble different bytes.

struct IPv4Reassembly {
  struct Slot {
    var inUse = false
    var source = IPv4Address.any
    var destination = IPv4Address.any
    var `protocol`: UInt8 = 0
    var identification: UInt16 = 0
    var deadline: UInt64 = 0
    /// Payload length, known once the last piece (MF clear) has arrived.
    var totalLength: Int? = nil
    /// The furthest byte any piece reached.
    var highestEnd = 0
    var blocksReceived = 0
  }

  enum Outcome: Equatable {
    /// Taken; the datagram is still incomplete.
    case held
    /// Taken, and the datagram is whole: its payload is `datagram(slot:)`
    /// until `release(slot:)`.
    case complete(slot: Int, length: Int)
    /// Already held (the first copy is kept).
    case duplicate
    /// Every slot is busy with another datagram.
    case noSlot
    /// This piece conflicts with what is held or ends past the size limit;
    /// the datagram was given up (or never started).
    case discarded
  }

  private var slots: [Slot]
  private var bitmaps: [UInt64]
  private let storage: FixedBytes
  let maxSize: Int
  let timeout: UInt64
  private let wordsPerSlot: Int

  init(configuration c: NetConfiguration) {
    maxSize = c.reassemblyMaxSize
    timeout = c.reassemblyTimeout
    wordsPerSlot = ((maxSize + 7) / 8 + 63) / 64
    slots = [Slot](repeating: Slot(), count: c.reassemblySlots)
    bitmaps = [UInt64](repeating: 0, count: wordsPerSlot * c.reassemblySlots)
    storage = FixedBytes(count: maxSize * c.reassemblySlots)
  }

  var activeCount: Int { slots.reduce(0) { $0 + ($1.inUse ? 1 : 0) } }

  /// Takes one fragment: its parsed header (checked by `IPv4Header(parsing:)`) and its payload.
  mutating func add(_ header: IPv4Header, payload: UnsafeRawBufferPointer, now: UInt64) -> Outcome {
    let start = header.fragmentOffset
    let end = start + payload.count
    let last = !header.moreFragments
    let found = slots.firstIndex {
      $0.inUse && $0.identification == header.identification && $0.source == header.source
        && $0.destination == header.destination && $0.protocol == header.protocol
    }
    guard end <= maxSize else {
      if let i = found { release(slot: i) }
      return .discarded
    }
    let i: Int
    if let found {
      i = found
    } else {
      guard let free = slots.firstIndex(where: { !$0.inUse }) else { return .noSlot }
      i = free
      slots[i] = Slot(
        inUse: true, source: header.source, destination: header.destination, protocol: header.protocol,
        identification: header.identification, deadline: now &+ timeout)
      for w in 0..<wordsPerSlot { bitmaps[i * wordsPerSlot + w] = 0 }
    }
    // Where the datagram ends must agree among all pieces.
    if let total = slots[i].totalLength {
      if last ? end != total : end > total {
        release(slot: i)
        return .discarded
      }
    } else if last && end < slots[i].highestEnd {
      release(slot: i)
      return .discarded
    }
    // Blocks this piece covers: only the last piece may end inside a block.
    let firstBlock = start / 8
    let endBlock = (end + 7) / 8
    var held = 0
    for b in firstBlock..<endBlock where isSet(i, b) { held += 1 }
    let blocks = endBlock - firstBlock
    if held == blocks && (blocks > 0 || slots[i].totalLength != nil) { return .duplicate }
    if held != 0 {
      release(slot: i)
      return .discarded
    }
    for b in firstBlock..<endBlock { set(i, b) }
    storage.slice(i * maxSize, maxSize).copy(payload, to: start)
    slots[i].blocksReceived += blocks
    slots[i].highestEnd = max(slots[i].highestEnd, end)
    if last { slots[i].totalLength = end }
    if let total = slots[i].totalLength, slots[i].blocksReceived == (total + 7) / 8 {
      return .complete(slot: i, length: total)
    }
    return .held
  }

  /// The payload of a datagram `add` reported complete.
  func datagram(slot i: Int, length: Int) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(storage.slice(i * maxSize, length))
  }

  mutating func release(slot i: Int) { slots[i] = Slot() }

  /// Gives up the datagrams whose time is over; returns how many.
  mutating func expire(now: UInt64) -> Int {
    var n = 0
    for i in slots.indices where slots[i].inUse && slots[i].deadline <= now {
      release(slot: i)
      n += 1
    }
    return n
  }

  var nextDeadline: UInt64? {
    var earliest: UInt64? = nil
    for s in slots where s.inUse { earliest = Deadline.earliest(earliest, s.deadline) }
    return earliest
  }

  private func isSet(_ i: Int, _ block: Int) -> Bool {
    bitmaps[i * wordsPerSlot + block / 64] & (1 << UInt64(block % 64)) != 0
  }

  private mutating func set(_ i: Int, _ block: Int) {
    bitmaps[i * wordsPerSlot + block / 64] |= 1 << UInt64(block % 64)
  }
}
