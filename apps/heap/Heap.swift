// heap: the libOS heap growing onto pages it maps itself. Allocates several
// MiB in Swift arrays (two large ones and many small ones), checks every
// byte, frees them, then does it all again to show that freed blocks kept
// their frames, and prints the heap's size and the frames it used. With
// `heap:exhaust` it keeps 1 MiB arrays until the quota runs out: the
// allocation fails, and Embedded Swift stops this app alone.
import LibOSRuntime

@main
struct HeapApp {
  static let bigBytes = 4 << 20
  static let wideWords = 256 * 1024  // 2 MiB of UInt64
  static let smallCount = 2000

  /// A byte that depends on the array and the index, so that two arrays
  /// sharing memory, or a page mapped twice, are caught.
  @inline(__always)
  static func pattern(_ seed: Int, _ i: Int) -> UInt8 {
    UInt8(truncatingIfNeeded: i &* 131 &+ (i >> 12) &* 7 &+ seed &* 29 &+ 1)
  }

  static func main() {
    if App.argumentIs("exhaust") { exhaust() }
    let first = round(seed: 1)
    let framesAfterFirst = AppHeap.dataFrames + AppHeap.tableFrames
    let second = round(seed: 2)
    let newFrames = AppHeap.dataFrames + AppHeap.tableFrames - framesAfterFirst
    if first > 0 || second > 0 {
      print("heap: \(first + second) bytes differ")
      Exo.exit(1)
    }
    let total = bigBytes + wideWords * 8 + smallBytes
    print("heap: \(total) bytes in 2 large and \(smallCount) small arrays, every byte verified")
    print(
      "heap: size \(AppHeap.size / 1024) KiB: the \(AppHeap.firstArenaSize / 1024) KiB first arena and \(AppHeap.dataFrames) pages mapped, \(AppHeap.tableFrames) page-table frames"
    )
    print("heap: \(AppHeap.bytesInUse) bytes in use after the frees")
    print("heap: second round verified with \(newFrames) new frames: freed blocks kept theirs")
    if newFrames != 0 { Exo.exit(1) }
  }

  static var smallBytes: Int {
    var sum = 0
    for i in 0..<smallCount { sum += smallSize(i) }
    return sum
  }

  static func smallSize(_ i: Int) -> Int { (i &* 37) % 600 + 1 }

  /// Allocates the arrays (largest first), fills and checks them; they are
  /// freed on return. Returns the bytes that differ.
  static func round(seed: Int) -> Int {
    var mismatches = 0
    var big = [UInt8](repeating: 0, count: bigBytes)
    var wide = [UInt64](repeating: 0, count: wideWords)
    var small: [[UInt8]] = []
    small.reserveCapacity(smallCount)
    for i in 0..<smallCount { small.append([UInt8](repeating: 0, count: smallSize(i))) }

    for i in 0..<bigBytes { big[i] = pattern(seed, i) }
    for i in 0..<wideWords { wide[i] = UInt64(i) &* 0x9e37_79b9_7f4a_7c15 &+ UInt64(seed) }
    for i in 0..<smallCount {
      for j in 0..<small[i].count { small[i][j] = pattern(seed &+ i, j) }
    }
    // Checked only after everything is written, so an overlap shows.
    for i in 0..<bigBytes where big[i] != pattern(seed, i) { mismatches += 1 }
    for i in 0..<wideWords where wide[i] != UInt64(i) &* 0x9e37_79b9_7f4a_7c15 &+ UInt64(seed) { mismatches += 8 }
    for i in 0..<smallCount {
      for j in 0..<small[i].count where small[i][j] != pattern(seed &+ i, j) { mismatches += 1 }
    }
    return mismatches
  }

  /// Holds 1 MiB arrays until an allocation fails; never returns.
  static func exhaust() -> Never {
    var held: [[UInt8]] = []
    held.reserveCapacity(256)
    while true {
      held.append([UInt8](repeating: UInt8(truncatingIfNeeded: held.count + 1), count: 1 << 20))
      print("heap: holding \(held.count) MiB, heap size \(AppHeap.size / 1024) KiB")
    }
  }
}
