// Big-endian (network order) reads and writes on raw buffers, and bounded
// sub-ranges. Callers check lengths against the packet first; the
// preconditions here only catch a bug in that check, never bad input.

extension UnsafeRawBufferPointer {
  @inline(__always)
  func be16(_ offset: Int) -> UInt16 {
    UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
  }

  @inline(__always)
  func be32(_ offset: Int) -> UInt32 {
    UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8
      | UInt32(self[offset + 3])
  }

  /// `count` bytes from `start`, as a buffer of its own.
  @inline(__always)
  func bytes(_ start: Int, _ count: Int) -> UnsafeRawBufferPointer {
    precondition(start >= 0 && count >= 0 && start <= self.count - count, "range outside the packet")
    return UnsafeRawBufferPointer(rebasing: self[start..<(start + count)])
  }
}

extension UnsafeMutableRawBufferPointer {
  @inline(__always)
  func storeBE16(_ value: UInt16, at offset: Int) {
    self[offset] = UInt8(truncatingIfNeeded: value >> 8)
    self[offset + 1] = UInt8(truncatingIfNeeded: value)
  }

  @inline(__always)
  func storeBE32(_ value: UInt32, at offset: Int) {
    self[offset] = UInt8(truncatingIfNeeded: value >> 24)
    self[offset + 1] = UInt8(truncatingIfNeeded: value >> 16)
    self[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
    self[offset + 3] = UInt8(truncatingIfNeeded: value)
  }

  @inline(__always)
  func bytes(_ start: Int, _ count: Int) -> UnsafeMutableRawBufferPointer {
    precondition(start >= 0 && count >= 0 && start <= self.count - count, "range outside the buffer")
    return UnsafeMutableRawBufferPointer(rebasing: self[start..<(start + count)])
  }

  /// Copies `source` to `offset` (bounds checked as above).
  @inline(__always)
  func copy(_ source: UnsafeRawBufferPointer, to offset: Int) {
    guard source.count > 0 else { return }
    bytes(offset, source.count).copyMemory(from: source)
  }
}
