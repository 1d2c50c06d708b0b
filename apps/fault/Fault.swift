// fault: takes a user-mode exception on purpose. Without a handler the
// kernel must kill this env alone, with a one-line report, and let the
// others run on; with one (`fault:handled`) the libOS resolves it itself.
import LibOSRuntime
import UserArch

@main
struct Fault {
  /// Nothing is ever mapped here.
  static let unmappedStack: UInt64 = 0x5000_0000_0000

  static func main() {
    if App.argumentIs("handled") {
      // The libOS's own handler takes the #UD and steps over the ud2: the
      // kernel only delivers it, and the app resumes without a kernel call.
      do throws(ExoError) {
        try Exceptions.install { state in
          guard state.vector == 6 else { return false }
          state.rip += 2
          return true
        }
      } catch {
        print("could not install a handler: error \(error.rawValue)")
        Exo.exit(2)
      }
      exo_try_ud2()
      print("handled #UD at user level \(Exceptions.count) time(s) and resumed")
      Exo.exit(0)
    } else if App.argumentIs("resume") {
      // A handler that points the thread's stack at an unmapped page: the
      // libOS's resume writes its frame there while upcalls are still
      // disabled, so that fault is a fault in the handler, and the kernel
      // must end this env alone.
      do throws(ExoError) {
        try Exceptions.install { state in
          state.rip += 2
          state.rsp = unmappedStack
          return true
        }
      } catch {
        print("could not install a handler: error \(error.rawValue)")
        Exo.exit(2)
      }
      print("executing ud2; the handler resumes on an unmapped stack")
      exo_try_ud2()
    } else if App.argumentIs("ud") {
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
