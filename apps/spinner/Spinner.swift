// spinner: holds the CPU without ever yielding or calling the kernel, for a
// span of TSC ticks. The APIC timer must take the CPU from it at each
// slice's end, so the other envs in the boot finish while it still spins.
import LibOSRuntime
import UserArch

@main
struct Spinner {
  static func main() {
    var millions: UInt64 = 200
    if App.argumentIs("upcalls") {
      // Each slice now starts with an upcall into the libOS, which resumes
      // the loop where the timer stopped it.
      do throws(ExoError) { try Exceptions.onSliceStart { _ in } } catch {
        print("could not ask for slice upcalls: error \(error.rawValue)")
        Exo.exit(2)
      }
    } else if App.argument.count > 0 {
      millions = 0
      for byte in App.argument where byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
        millions = millions &* 10 &+ UInt64(byte - UInt8(ascii: "0"))
      }
    }
    print("spinning for \(millions) million TSC ticks without yielding")
    let start = exo_rdtsc()
    var spins: UInt64 = 0
    while exo_rdtsc() &- start < millions &* 1_000_000 { spins &+= 1 }
    print("done spinning after \(spins) loops; \(Exceptions.sliceStarts) slice-start upcalls")
  }
}
