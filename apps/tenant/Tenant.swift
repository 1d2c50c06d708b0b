// tenant: an env with a large quota on a small machine. It maps as many
// frames as it may and writes each page's number into it, then tells env 1
// (`reclaim:start`) it is full. When env 1 starts a held env, the kernel
// divides the machine anew and asks the tenant for its excess: it unmaps and
// frees exactly that many of its newest frames. When the started env exits,
// its share comes back, and the tenant allocates again. Every page it kept is
// checked. It also tries to start a held env listed before it.
import LibOSRuntime
import SecureBindings

@main
struct Tenant {
  static let base: UInt64 = 0x3400_0000_0000
  static let capacity = 16_384
  nonisolated(unsafe) static var wrong = 0

  static func check(_ what: StaticString, _ ok: Bool) {
    if !ok {
      wrong += 1
      print("WRONG \(what.description)")
    }
  }

  static func address(_ i: Int) -> UInt64 { base + UInt64(i) * UserSpace.pageSize }

  static func main() {
    do throws(ExoError) { try Exceptions.install { _ in false } } catch {
      print("tenant: no exception handler: \(error.name.description)")
      Exo.exit(1)
    }
    let me = Exo.envSelf()
    check("env_start of a held env listed before it is refused", start(EnvID(me.raw - 1)) == .badCapability)
    check("env_start of itself is refused", start(me) == .noSuchEnv)

    // Room for its manifest's quota: the heap grows now, not once the frames are gone.
    var frames: [FrameCapability] = []
    frames.reserveCapacity(capacity)
    let kernel = ExoPageKernel()
    var stop: ExoError? = nil
    while stop == nil && frames.count < capacity {
      do throws(ExoError) {
        let frame = try Exo.frameAlloc()
        do throws(ExoError) {
          try kernel.mapSupplyingTables(address(frames.count), frame, .write)
        } catch {
          try? Exo.frameFree(frame)
          throw error
        }
        UnsafeMutablePointer<UInt64>(bitPattern: UInt(address(frames.count)))!.pointee = UInt64(frames.count)
        frames.append(frame)
      } catch { stop = error }
    }
    print("tenant: holds \(frames.count) pages, stopped by \(stop?.name.description ?? "nothing")")
    do throws(ExoError) { try Exo.eventSignal(EnvID(1), bits: 1) } catch {
      print("tenant: cannot tell env 1: \(error.name.description)")
      Exo.exit(1)
    }

    // Env 1 starts the held env: the kernel asks for this env's excess.
    var turns = 0
    while Reclaim.requested == 0 && turns < 20_000 {
      Exo.yield()
      turns += 1
    }
    let asked = Int(Reclaim.requested)
    check("the kernel asked for frames back", asked > 0)
    for _ in 0..<min(asked, frames.count) {
      let frame = frames.removeLast()
      do throws(ExoError) {
        try Exo.unmap(address(frames.count))
        try Exo.frameFree(frame)
      } catch {
        print("WRONG giving back a frame: \(error.name.description)")
        Exo.exit(1)
      }
    }
    print("tenant: asked for \(asked) frames back, gave back \(asked); the kernel asks for \(Reclaim.requested) more")
    check("the request is met", Reclaim.requested == 0)
    check("nothing was taken by force", Reclaim.repossessedCount == 0)
    check("frame_alloc at the lowered quota is refused", (try? Exo.frameAlloc()) == nil)

    // Once the started env has exited, its share comes back.
    var regained = false
    turns = 0
    while !regained && turns < 20_000 {
      if let frame = try? Exo.frameAlloc() {
        try? Exo.frameFree(frame)
        regained = true
      } else {
        Exo.yield()
        turns += 1
      }
    }
    check("the quota rose again after the started env exited", regained)
    print("tenant: \(regained ? "allocated again" : "could not allocate") after the started env exited")

    var damaged = 0
    for i in 0..<frames.count where UnsafePointer<UInt64>(bitPattern: UInt(address(i)))!.pointee != UInt64(i) {
      damaged += 1
    }
    check("every page it kept holds what it wrote", damaged == 0)
    print("tenant: \(frames.count) pages kept, \(damaged) damaged")
    Exo.exit(wrong == 0 ? 0 : 1)
  }

  static func start(_ env: EnvID) -> ExoError? {
    do throws(ExoError) { try Exo.envStart(env) } catch { return error }
    return nil
  }
}
