// Byte storage made once, when the stack is built, and never grown: the ARP
// wait queue, the reassembly buffers, the UDP receive queues and the frame
// being built live here, so the receive path does not allocate. It is a
// class so that a buffer lent out of one part of the stack (a reassembled
// datagram) stays valid while the stack calls another part (UDP, ICMP)
// without an exclusive access to the whole stack. The owner keeps exactly
// one reference; copies of the owning struct would share the bytes.

final class FixedBytes {
  let base: UnsafeMutableRawPointer
  let count: Int

  init(count: Int) {
    precondition(count >= 0)
    base = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 8)
    base.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1))
    self.count = count
  }

  deinit { base.deallocate() }

  /// `length` bytes at `offset`; the ranges are the stack's own layout.
  func slice(_ offset: Int, _ length: Int) -> UnsafeMutableRawBufferPointer {
    precondition(offset >= 0 && length >= 0 && offset <= count - length, "slice outside the storage")
    return UnsafeMutableRawBufferPointer(start: base + offset, count: length)
  }
}
