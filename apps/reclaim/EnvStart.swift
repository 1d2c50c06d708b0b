// reclaim:start: the supervisor of an over-committed machine. Booted as
// `reclaim:start hello tenant --held 2 --memory 64`, it waits until env 3
// (tenant) has taken every frame its quota allows, then starts env 2, which
// was held at boot. Starting it makes the kernel divide the machine anew and
// ask the tenant for frames; until they are back, env_start answers
// no_frames and the supervisor tries again on its next turn.
import LibOSRuntime

extension ReclaimApp {
  static func startHeld() -> Never {
    let me = Exo.envSelf()
    var wrong = 0
    for (env, what): (UInt16, StaticString) in [
      (0, "env 0"), (me.raw, "itself"), (me.raw + 2, "env 3, which runs"), (999, "env 999"),
    ] where startError(EnvID(env)) != .noSuchEnv {
      print("WRONG env_start of \(what.description) was not refused with no_such_env")
      wrong += 1
    }
    Exo.eventListen(senders: 1 << UInt64(me.raw + 2))
    guard (try? Exo.eventWait(microseconds: 0)) != nil else {
      print("reclaim: the tenant never said it was full")
      Exo.exit(1)
    }
    let held = EnvID(me.raw + 1)
    var tries = 1
    var error = startError(held)
    while error == .noFrames && tries < 1000 {
      Exo.yield()
      tries += 1
      error = startError(held)
    }
    guard error == nil else {
      print("reclaim: env_start of env \(held.raw) failed: \(error?.name.description ?? "")")
      Exo.exit(1)
    }
    print("reclaim: started env \(held.raw) after \(tries) tries")
    if startError(held) != .noSuchEnv {
      print("WRONG a second env_start of the started env was not refused")
      wrong += 1
    }
    Exo.exit(wrong == 0 ? 0 : 1)
  }

  static func startError(_ env: EnvID) -> ExoError? {
    do throws(ExoError) { try Exo.envStart(env) } catch { return error }
    return nil
  }
}
