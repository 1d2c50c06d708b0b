// The allocator hooks Embedded Swift calls, on the libOS heap over a static
// region (entry.S). The memory issue moves the region onto demand-paged memory.
// Allocation and free are thread-library critical sections: a preempted
// thread must not leave the heap half-updated for the next one.
import LibOSPosix
import UserArch

nonisolated(unsafe) private var heap = Heap(
  region: UnsafeMutableRawBufferPointer(
    start: UnsafeMutableRawPointer(bitPattern: UInt(exo_heap_arena())), count: Int(EXO_HEAP_ARENA_SIZE)))

@_cdecl("posix_memalign")
func posixMemalign(
  _ result: UnsafeMutablePointer<UnsafeMutableRawPointer?>, _ alignment: Int, _ size: Int
) -> Int32 {
  ThreadCritical.enter()
  defer { ThreadCritical.leave() }
  guard let p = heap.allocate(size: size, alignment: alignment) else { return 12 }  // ENOMEM
  result.pointee = p
  return 0
}

/// `free` itself is in string.S (a jump here): Swift reserves the name.
@_cdecl("exo_runtime_free")
func runtimeFree(_ pointer: UnsafeMutableRawPointer?) {
  ThreadCritical.enter()
  if let pointer { heap.free(pointer) }
  ThreadCritical.leave()
}

/// Hashing seeds: deterministic, as there is no entropy source.
@_cdecl("arc4random_buf")
func arc4randomBuf(_ buffer: UnsafeMutableRawPointer, _ count: Int) {
  var state: UInt64 = 0x2545_f491_4f6c_dd1d
  for i in 0..<count {
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    buffer.storeBytes(of: UInt8(truncatingIfNeeded: state), toByteOffset: i, as: UInt8.self)
  }
}
