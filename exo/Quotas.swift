// Over-committed quotas in the kernel: whenever the set of envs that hold
// frames changes (the boot's envs loaded, an `env_start`, an exit), each
// live env's quota is set by the fixed rule in
// secure-bindings/QuotaShares.swift, and an env left holding more than its
// new quota is asked for the excess through visible revocation.
import SecureBindings

enum Quotas {
  typealias EnvRef = UnsafeMutablePointer<Env>

  /// The deadline, in the env's own turns, for frames a rebalance asks back.
  static let deadlineTurns: UInt64 = 8

  static func rebalance() {
    var total: UInt64 = 0
    for i in 0..<envTable.count where envTable.slots[i].claimsFrames { total += envTable.slots[i].manifestQuota }
    let available = UInt64(framesFreeAtBoot)
    for i in 0..<envTable.count {
      let env = envTable.slots + i
      // A held env being started weighs in the total; its own quota is set
      // when it is loaded (`start`).
      guard env.pointee.claimsFrames, env.pointee.state != .held else { continue }
      let claim = QuotaShares.Claim(
        manifest: env.pointee.manifestQuota, ceiling: env.pointee.quotaCeiling, floor: env.pointee.loadedFrames)
      let quota = QuotaShares.quota(of: claim, total: total, available: available)
      guard quota != env.pointee.frameQuota else { continue }
      KernelLine().text("env ").env(env.pointee).text(" quota ").decimal(env.pointee.frameQuota).text(" -> ")
        .decimal(quota).text(" frames (").decimal(total).text(" promised, ").decimal(available).text(" free at boot)")
        .end()
      env.pointee.frameQuota = quota
      Revocation.quotaMoved(env, turns: deadlineTurns)
    }
  }

  /// `env_start(env)`: an env listed before a held env starts it. Its quota
  /// counts from this call on, so the others are asked for their excess at
  /// once; when the frames for its image are not free yet, the call fails
  /// with no_frames and the env stays held: call again once they are back.
  static func start(_ caller: EnvRef, _ target: UInt64) throws(CallFailure) {
    guard target >= 1, target <= UInt64(envTable.count) else { throw CallFailure(.noSuchEnv) }
    let env = envTable[EnvID(UInt16(target))]
    guard env.pointee.state == .held else { throw CallFailure(.noSuchEnv) }
    // Boot order is the authority, as for quota_lower.
    guard env.pointee.id.raw > caller.pointee.id.raw else { throw CallFailure(.badCapability) }
    if !env.pointee.startAsked {
      env.pointee.startAsked = true
      rebalance()
    }
    // Its manifest's quota covers its image, as at boot; once loaded, what
    // it took is its floor and the rule sets its quota with the others'.
    env.pointee.frameQuota = env.pointee.quotaCeiling
    do { try EnvLoader.start(env) } catch {
      switch error {
      case .outOfFrames: throw CallFailure(.noFrames)
      case .overQuota: throw CallFailure(.quotaExceeded)
      default: throw CallFailure(.badArgument)
      }
    }
    KernelLine().text("env ").env(env.pointee).text(" started: ").decimal(env.pointee.framesHeld).text(" frames").end()
    rebalance()
  }
}
