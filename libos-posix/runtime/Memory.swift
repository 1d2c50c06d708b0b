// The allocator hooks Embedded Swift calls, on the libOS heap: a small
// static first arena (entry.S), then pages committed with frames from the
// env's quota as the heap grows (HeapFrames.swift says why not on demand).
// Allocation and free, growth included, are thread-library critical
// sections: a preempted thread must not leave the heap half-updated for the
// next one. When the quota runs out posix_memalign answers ENOMEM, and
// Embedded Swift stops the app (an invalid-opcode trap), only that app.
import LibOSPosix
import UserArch

nonisolated(unsafe) private var heap = Heap(
  arena: UnsafeMutableRawBufferPointer(
    start: UnsafeMutableRawPointer(bitPattern: UInt(exo_heap_arena())), count: Int(EXO_HEAP_ARENA_SIZE)),
  reserve: UnsafeMutableRawBufferPointer(
    start: UnsafeMutableRawPointer(bitPattern: UInt(HeapFrames.base)), count: Int(HeapFrames.span)),
  growth: HeapFrames())

/// What the app's heap holds, for apps that report it.
public enum AppHeap {
  /// Bytes the heap can hand out without growing: the first arena and the
  /// pages committed so far.
  public static var size: Int { read { $0.size } }
  public static var bytesInUse: Int { read { $0.bytesInUse } }
  public static var firstArenaSize: Int { Int(EXO_HEAP_ARENA_SIZE) }
  /// Frames mapped as heap pages, and frames spent on their page tables.
  public static var dataFrames: Int { read { $0.growth.dataFrames } }
  public static var tableFrames: Int { read { $0.growth.tableFrames } }

  private static func read(_ field: (Heap<HeapFrames>) -> Int) -> Int {
    ThreadCritical.enter()
    defer { ThreadCritical.leave() }
    return field(heap)
  }
}

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
