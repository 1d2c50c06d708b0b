// fault: takes a user-mode exception on purpose. The kernel must kill this
// env alone, with a one-line report, and let the others run on.
import LibOSRuntime
import UserArch

@main
struct Fault {
  static func main() {
    if App.argumentIs("ud") {
      print("executing ud2")
      exo_try_ud2()
    } else if App.argumentIs("divide") {
      print("dividing by zero")
      print("not reached \(exo_try_divide(1, 0))")
    } else {
      print("reading through a null pointer")
      print("not reached \(exo_try_load(0))")
    }
    print("still alive: the exception did not happen")
    Exo.exit(1)
  }
}
