// hello: prints one greeting through the libOS console and exits 0.
import LibOSRuntime

@main
struct Hello {
  static func main() {
    print("Hello from the exokernel! I am env \(Exo.envSelf().raw).")
  }
}
