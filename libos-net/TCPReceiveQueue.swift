// The receive buffer and the reassembly of out-of-order data. In-order bytes
// wait in the ring for the app; out-of-order bytes are written straight to
// their place behind them (they always fit: the window never offers more
// than the ring's free space), and a short sorted list records which ranges
// are held. When the hole before them fills, RCV.NXT jumps over them with
// no copy. Overlaps and duplicates fall out of the range merge. The list is
// bounded; a segment that would need one range too many is dropped (the
// sender will send it again).

struct TCPReceiveQueue {
  var ring: TCPRingBuffer
  /// Held out-of-order ranges [start, end), sorted, disjoint, not touching,
  /// all after RCV.NXT.
  private(set) var ranges: [(start: TCPSequence, end: TCPSequence)] = []
  let maxRanges: Int
  /// Where a FIN that came out of order lies.
  var pendingFin: TCPSequence? = nil

  init(capacity: Int, maxRanges: Int) {
    ring = TCPRingBuffer(capacity: capacity)
    self.maxRanges = max(1, maxRanges)
    ranges.reserveCapacity(self.maxRanges + 1)
  }

  var hasGap: Bool { !ranges.isEmpty }

  /// Takes `bytes` at `seq`, with `rcvNxt <= seq` and the data inside the
  /// ring's free space (the caller trims to it). Returns how far RCV.NXT
  /// moves, or nil when the data could not be kept.
  mutating func insert(_ bytes: UnsafeRawBufferPointer, at seq: TCPSequence, rcvNxt: TCPSequence) -> UInt32? {
    let n = bytes.count
    guard seq >= rcvNxt else { return nil }
    let offset = Int(seq - rcvNxt)
    guard n > 0, offset <= ring.free - n else { return n == 0 ? 0 : nil }
    let end = seq + UInt32(n)
    if offset == 0 {
      ring.write(bytes, at: ring.count)
      var newEnd = end
      while let first = ranges.first, first.start <= newEnd {
        newEnd = TCPSequence.later(newEnd, first.end)
        ranges.removeFirst()
      }
      let advance = newEnd - rcvNxt
      ring.commit(Int(advance))
      return advance
    }
    guard addRange(start: seq, end: end) else { return nil }
    ring.write(bytes, at: ring.count + offset)
    return 0
  }

  /// Merges [start, end) into the list; false when it would need a range
  /// more than the bound allows.
  private mutating func addRange(start: TCPSequence, end: TCPSequence) -> Bool {
    var i = 0
    while i < ranges.count && ranges[i].end < start { i += 1 }
    // ranges[i...] end at or after `start`; merge every one that touches.
    var j = i
    var s = start
    var e = end
    while j < ranges.count && ranges[j].start <= e {
      if ranges[j].start < s { s = ranges[j].start }
      e = TCPSequence.later(e, ranges[j].end)
      j += 1
    }
    if j == i && ranges.count >= maxRanges { return false }
    ranges.replaceSubrange(i..<j, with: CollectionOfOne((start: s, end: e)))
    return true
  }

  /// Drops everything: data, held ranges and a pending FIN (a reset flushes
  /// the queues, RFC 9293 §3.10.7.4).
  mutating func removeAll() {
    ring.removeAll()
    ranges.removeAll()
    pendingFin = nil
  }

  /// Forgets held ranges (after the FIN, nothing past it can count).
  mutating func dropOutOfOrder() {
    ranges.removeAll()
    pendingFin = nil
  }
}
