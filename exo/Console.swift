// The console: whole lines only. The kernel's own lines start "[exo] ";
// each env's bytes collect in its line buffer and go out as one line
// prefixed "[name:id] ", so output never interleaves and no env can forge
// another's (or the kernel's) line.
import SecureBindings

/// Builds one kernel line straight onto the serial port. The kernel is
/// never preempted, so a line cannot be split by another writer.
struct KernelLine {
  @discardableResult
  init() { Console.write(ConsoleWords.kernelPrefix) }

  @discardableResult func text(_ s: StaticString) -> KernelLine { Console.write(s); return self }
  @discardableResult func decimal(_ v: UInt64) -> KernelLine { Console.writeDecimal(v); return self }
  @discardableResult func signed(_ v: Int64) -> KernelLine {
    if v < 0 { Serial.write(UInt8(ascii: "-")) }
    Console.writeDecimal(v.magnitude)
    return self
  }
  @discardableResult func hex(_ v: UInt64) -> KernelLine { Console.writeHex(v); return self }
  @discardableResult func env(_ e: Env) -> KernelLine { Console.writeEnvTag(e); return self }
  func end() { Serial.write(0x0a) }
}

/// One env's unfinished line.
struct ConsoleLine {
  var bytes = InlineArray<1024, UInt8>(repeating: 0)
  var count = 0

  /// Appends one byte; returns true when the line is complete and must be emitted.
  mutating func append(_ byte: UInt8) -> Bool {
    if byte == 0x0a { return true }
    // Control bytes would let an env move the cursor over other lines.
    bytes[count] = (byte < 0x20 && byte != 0x09) || byte == 0x7f ? UInt8(ascii: "?") : byte
    count += 1
    return count == Limits.lineLength
  }
}

enum Console {
  nonisolated(unsafe) private(set) static var firstEnvLineTSC: UInt64 = 0

  static func write(_ s: StaticString) {
    s.withUTF8Buffer { for b in $0 { Serial.write(b) } }
  }

  static func writeDecimal(_ value: UInt64) {
    var digits = InlineArray<20, UInt8>(repeating: 0)
    var n = 0
    var v = value
    repeat {
      digits[n] = UInt8(ascii: "0") + UInt8(v % 10)
      v /= 10
      n += 1
    } while v != 0
    while n > 0 {
      n -= 1
      Serial.write(digits[n])
    }
  }

  static func writeHex(_ value: UInt64) {
    write("0x")
    var shift = 60
    while shift > 0 && (value >> UInt64(shift)) & 0xf == 0 { shift -= 4 }
    while shift >= 0 {
      let nibble = UInt8((value >> UInt64(shift)) & 0xf)
      Serial.write(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10)
      shift -= 4
    }
  }

  /// "name:id", the tag that names an env everywhere on the console.
  static func writeEnvTag(_ env: Env) {
    for i in 0..<env.nameLength { Serial.write(env.name[i]) }
    Serial.write(UInt8(ascii: ":"))
    writeDecimal(UInt64(env.id.raw))
  }

  /// Emits an env's buffered line, complete or not, and empties the buffer.
  static func flush(_ env: inout Env) {
    if firstEnvLineTSC == 0 { firstEnvLineTSC = Machine.tsc() }
    Serial.write(UInt8(ascii: "["))
    writeEnvTag(env)
    write("] ")
    for i in 0..<env.line.count { Serial.write(env.line.bytes[i]) }
    Serial.write(0x0a)
    env.line.count = 0
  }
}
