// echo: binds the serial console's receive interrupt and waits for it (no
// polling); each line typed comes back as "you typed: ...". It ends on a
// line "quit", or after 30 s without input.
import LibOSRuntime

@main
struct Echo {
  static func main() {
    do throws(ExoError) {
      try Exo.irqBind(.serialInput)
    } catch {
      print("irq_bind failed: error \(error.rawValue)")
      Exo.exit(1)
    }
    print("type a line (quit to end)")
    var line: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 64)
    var lines = 0
    while true {
      guard let bits = try? Exo.eventWait(microseconds: 30_000_000), bits & DeviceLine.serialInput.eventBit != 0 else {
        print("no input for 30 s; \(lines) lines echoed")
        return
      }
      while true {
        let n = buffer.withUnsafeMutableBytes { (try? Exo.consoleRead($0)) ?? 0 }
        if n == 0 { break }
        for byte in buffer[0..<n] {
          if byte == 0x0a || byte == 0x0d {
            if line.isEmpty { continue }
            if line == Array("quit".utf8) {
              print("quit after \(lines) lines")
              return
            }
            print("you typed: \(String(decoding: line, as: UTF8.self))")
            lines += 1
            line.removeAll()
          } else if line.count < 200 {
            line.append(byte)
          }
        }
      }
    }
  }
}
