// A fixed-capacity byte ring, allocated once when a connection opens: the
// storage under both the send queue and the receive queue. Offsets are
// relative to the oldest byte; bytes past `count` (up to the capacity) can
// be written without being counted, which is where out-of-order data waits.

struct TCPRingBuffer {
  private var storage: [UInt8]
  private var head = 0
  private(set) var count = 0

  init(capacity: Int) { storage = [UInt8](repeating: 0, count: max(0, capacity)) }

  var capacity: Int { storage.count }
  var free: Int { storage.count - count }

  /// Appends what fits; returns how many bytes it took.
  mutating func append(_ bytes: UnsafeRawBufferPointer) -> Int {
    let n = min(bytes.count, free)
    guard n > 0 else { return 0 }
    write(UnsafeRawBufferPointer(rebasing: bytes[0..<n]), at: count)
    count += n
    return n
  }

  /// Writes at `offset` from the oldest byte without counting the bytes;
  /// `offset + bytes.count` must not pass the capacity.
  mutating func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
    let n = bytes.count
    guard n > 0, offset >= 0, offset <= capacity - n else { return }
    let start = (head + offset) % capacity
    let first = min(n, capacity - start)
    storage.withUnsafeMutableBytes { raw in
      UnsafeMutableRawBufferPointer(rebasing: raw[start..<(start + first)])
        .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<first]))
      if first < n {
        UnsafeMutableRawBufferPointer(rebasing: raw[0..<(n - first)])
          .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[first..<n]))
      }
    }
  }

  /// Counts `n` more bytes already written past the end.
  mutating func commit(_ n: Int) { count += max(0, min(n, free)) }

  /// Copies `destination.count` bytes starting `offset` bytes in; the range
  /// must lie within `count`.
  func copy(from offset: Int, into destination: UnsafeMutableRawBufferPointer) {
    let n = destination.count
    guard n > 0, offset >= 0, offset <= count - n else { return }
    let start = (head + offset) % capacity
    let first = min(n, capacity - start)
    storage.withUnsafeBytes { raw in
      UnsafeMutableRawBufferPointer(rebasing: destination[0..<first])
        .copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[start..<(start + first)]))
      if first < n {
        UnsafeMutableRawBufferPointer(rebasing: destination[first..<n])
          .copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<(n - first)]))
      }
    }
  }

  /// Drops up to `n` of the oldest bytes.
  mutating func discard(_ n: Int) {
    let n = max(0, min(n, count))
    guard n > 0 else { return }
    head = (head + n) % capacity
    count -= n
  }

  /// Moves the oldest bytes into `destination`; returns how many.
  mutating func read(into destination: UnsafeMutableRawBufferPointer) -> Int {
    let n = min(destination.count, count)
    guard n > 0 else { return 0 }
    copy(from: 0, into: UnsafeMutableRawBufferPointer(rebasing: destination[0..<n]))
    discard(n)
    return n
  }

  mutating func removeAll() {
    head = 0
    count = 0
  }
}
