// What Embedded Swift asks of a freestanding kernel: an allocator (a bump
// allocator over a static arena, used only while booting), putchar, and a
// deterministic arc4random_buf. memset/memcpy/memmove/memcmp and free (which
// does nothing: the arena is used only at boot, in bounded amounts) are in trap.S.

nonisolated(unsafe) private var arenaUsed = 0

@_cdecl("posix_memalign")
func posixMemalign(
  _ result: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ alignment: Int, _ size: Int
) -> Int32 {
  let align = max(alignment, 16)
  let start = (arenaUsed + align - 1) & ~(align - 1)
  guard start + size <= Machine.arenaSize else {
    panic("boot arena exhausted")
  }
  arenaUsed = start + size
  result.pointee = Machine.arena.advanced(by: start)
  return 0
}

@_cdecl("putchar")
func putchar(_ c: Int32) -> Int32 {
  Serial.write(UInt8(truncatingIfNeeded: c))
  return c
}

/// Hashing seeds come from here; there is no entropy source, and
/// determinism is what the kernel wants anyway.
@_cdecl("arc4random_buf")
func arc4randomBuf(_ buffer: UnsafeMutableRawPointer, _ count: Int) {
  var state: UInt64 = 0x9e37_79b9_7f4a_7c15
  for i in 0..<count {
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    buffer.storeBytes(of: UInt8(truncatingIfNeeded: state), toByteOffset: i, as: UInt8.self)
  }
}
