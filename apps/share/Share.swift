// share: three threads count units of work for a fixed span of TSC ticks,
// yielding after each unit, and the app prints the total. Two envs booted
// side by side with different slice allowances show the kernel's split of
// the CPU in their totals; inside the env, the per-thread counts show the
// libOS scheduler's split (equal under rr, 1:2:3 by tickets under stride).
import LibOSRuntime
import UserArch

@main
struct Share {
  static let tickets = [1, 2, 3]
  static let unitLoops = 1000

  static func main() {
    let (stride, millions) = parseArgument()
    Threads.use(stride ? .stride : .roundRobin)
    let span = millions &* 1_000_000
    var counts = [UInt64](repeating: 0, count: tickets.count)
    var sink: UInt64 = 0
    // Envs booted together count over the same window of TSC time: from the
    // next multiple of 2^24 ticks on, so the one that started first gets no
    // head start and the last to finish no time alone.
    let window: UInt64 = 1 << 24
    let start = (exo_rdtsc() / window + 1) * window
    while exo_rdtsc() < start {}
    var ids: [ThreadID] = []
    for (i, t) in tickets.enumerated() {
      do {
        ids.append(
          try Threads.spawn(weight: t) {
            var x = UInt64(i + 1) &* 0x9e37_79b9_7f4a_7c15
            while exo_rdtsc() < start &+ span {
              for _ in 0..<unitLoops {
                x ^= x << 13
                x ^= x >> 7
                x ^= x << 17
              }
              counts[i] += 1
              Threads.yield()
            }
            sink ^= x
          })
      } catch {
        print("share: spawn failed")
        Exo.exit(1)
      }
    }
    for id in ids { Threads.join(id) }
    let name = Threads.schedulerName.description
    print("share: \(name) tickets 1 2 3 work \(counts[0]) \(counts[1]) \(counts[2]) (sink \(sink & 0xff))")
    print("share: \(name) work \(counts.reduce(0, +))")
  }

  /// `rr` or `stride`, optionally followed by `-M` for M million TSC ticks.
  static func parseArgument() -> (stride: Bool, millions: UInt64) {
    let arg = App.argument
    var millions: UInt64 = 100
    var i = 0
    var word: [UInt8] = []
    while i < arg.count && arg[i] != UInt8(ascii: "-") {
      word.append(arg[i])
      i += 1
    }
    if i < arg.count {
      var n: UInt64 = 0
      for byte in arg[(i + 1)...] where byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
        n = n &* 10 &+ UInt64(byte - UInt8(ascii: "0"))
      }
      if n > 0 { millions = n }
    }
    let stride: [UInt8] = [0x73, 0x74, 0x72, 0x69, 0x64, 0x65]  // "stride"
    return (word == stride, millions)
  }
}
