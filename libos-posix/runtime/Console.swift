// Swift's print() in an app: putchar collects bytes and hands the kernel
// whole lines, one kernel call per line rather than per byte. Each byte is
// a thread-library critical section, so preemption cannot break the buffer
// (lines of two threads may still mix).
import SecureBindings
import UserArch

enum Console {
  nonisolated(unsafe) static var buffer = InlineArray<128, UInt8>(repeating: 0)
  /// A C global, which pct.S reads to skip the flush before a reply.
  static var count: Int {
    get { Int(exo_console_count()) }
    set { exo_set_console_count(Int64(newValue)) }
  }

  static func put(_ byte: UInt8) {
    buffer[count] = byte
    count += 1
    if byte == 0x0a || count == 128 { flush() }
  }

  static func flush() {
    guard count > 0 else { return }
    let n = count
    count = 0
    withUnsafeBytes(of: &buffer) { raw in
      try? Exo.consoleWrite(UnsafeRawBufferPointer(rebasing: raw[0..<n]))
    }
  }
}

@_cdecl("putchar")
func putchar(_ c: Int32) -> Int32 {
  ThreadCritical.enter()
  Console.put(UInt8(truncatingIfNeeded: c))
  ThreadCritical.leave()
  return c
}
