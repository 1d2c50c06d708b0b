// reclaim: the supervisor of the revocation demonstration. Listed first, it
// may lower the quotas of the envs started after it: it lets them fill
// their frames, then lowers each quota until the env holds more than it,
// asking for `owed` frames back. Env 2 (pager-demo:reclaim) gives them back
// by evicting pages; env 3 (badmem:hoard) refuses and loses them by force
// once its two turns have passed. Env 4 is left alone.
// `reclaim:start` starts a held env instead (EnvStart.swift).
import LibOSRuntime

@main
struct ReclaimApp {
  static let owed: UInt64 = 6

  static func main() {
    if App.argumentIs("start") { startHeld() }
    // Let the others start and fill their frames.
    for _ in 0..<40 { Exo.yield() }
    let pager = ask(EnvID(2), quota: 256, turns: 8)
    let hoard = ask(EnvID(3), quota: 128, turns: 2)
    print("reclaim: asked env 2 for \(pager) frames within 8 turns, env 3 for \(hoard) within 2")
    for _ in 0..<40 { Exo.yield() }
    Exo.exit(pager == owed && hoard == owed ? 0 : 1)
  }

  /// Lowers `env`'s quota one frame at a time from its manifest's `quota`
  /// until it holds more than the quota, then by `owed - 1` more; returns
  /// what the kernel asked the env to give back.
  static func ask(_ env: EnvID, quota: UInt64, turns: UInt64) -> UInt64 {
    var frames = quota
    while frames > 1 {
      frames -= 1
      do throws(ExoError) {
        if try Exo.quotaLower(env, frames: frames, turns: turns) > 0 {
          return try Exo.quotaLower(env, frames: frames - (owed - 1), turns: turns)
        }
      } catch {
        print("reclaim: quota_lower of env \(env.raw) refused: \(error.name.description)")
        return 0
      }
    }
    return 0
  }
}
