// counter: counts to five, giving the CPU away after every line, so that
// a boot with other apps shows the envs taking turns.
import LibOSRuntime

@main
struct Counter {
  static func main() {
    for i in 1...5 {
      print("count \(i)")
      Exo.yield()
    }
  }
}
