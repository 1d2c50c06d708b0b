// badmem:granter and badmem:grantee (the next env): a frame granted
// read-only. The grantee must be refused write and execute on it, through
// `map` and through `protect`, a second mapping while the first stands,
// and freeing a frame it does not own; a read-only mapping reads the
// granter's bytes. The kernel's fast paths take only a caller's own frames,
// so every one of these goes through the Swift path's grant checks.
import LibOSRuntime
import SecureBindings
import UserArch

extension BadMem {
  static let grantPattern: UInt64 = 0x600d_f00d_5a5a_a5a5

  /// Env N: takes a frame, writes the pattern, grants it read-only to env
  /// N+1, passes the capability in an event, revokes it once told, and
  /// then tells the grantee it may exit.
  static func granter() -> Never {
    let me = Exo.envSelf()
    let grantee = EnvID(me.raw + 1)
    Exo.eventListen(senders: 1 << UInt64(grantee.raw))
    guard let frame = try? Exo.frameAlloc(), (try? ExoPageKernel().mapSupplyingTables(scratch, frame, .write)) != nil
    else {
      print("WRONG granter: no frame")
      Exo.exit(1)
    }
    exo_store64(scratch, grantPattern)
    expectSuccess("unmap of the frame before it is granted", call(.unmap, scratch, 1))
    expectSuccess("frame_grant read-only to the next env", call(.frameGrant, frame.raw, UInt64(grantee.raw), 0))
    // The grantee listens once it runs: until then the signal is refused.
    var sent = false
    for _ in 0..<100 where !sent {
      Exo.yield()
      sent = (try? Exo.eventSignal(grantee, bits: frame.raw)) != nil
    }
    check("the capability reached the grantee", sent)
    check("the grantee said it is done", sent && (try? Exo.eventWait(microseconds: 0)) == 1)
    expectSuccess("frame_revoke of the grant", call(.frameRevoke, frame.raw, UInt64(grantee.raw)))
    expectSuccess("frame_free of the granted frame", call(.frameFree, frame.raw))
    _ = try? Exo.eventSignal(grantee, bits: 1)  // the grantee may exit now
    finishGrants("granter")
  }

  /// Env N+1: tries every right past the grant's, then maps it as granted.
  static func grantee() -> Never {
    let me = Exo.envSelf()
    let granter = EnvID(me.raw - 1)
    Exo.eventListen(senders: 1 << UInt64(granter.raw))
    guard let own = try? Exo.frameAlloc(), (try? ExoPageKernel().mapSupplyingTables(scratch, own, .write)) != nil,
      let raw = try? Exo.eventWait(microseconds: 0)
    else {
      print("WRONG grantee: no frame or no capability")
      Exo.exit(1)
    }
    let granted = FrameCapability(raw: raw)
    expect("map of a read-only grant writable", call(.map, target, granted.raw, 1), .badCapability)
    expect("map of a read-only grant executable", call(.map, target, granted.raw, 2), .badCapability)
    expectSuccess("map of the grant read-only", call(.map, target, granted.raw, 0))
    check("the granted page reads the granter's bytes", exo_load64(target) == grantPattern)
    expect("a second map of the grant", call(.map, target + page, granted.raw, 0), .alreadyMapped)
    expect("protect of the granted page writable", call(.protect, target, 1, 1), .badCapability)
    expectSuccess("protect of the granted page read-only", call(.protect, target, 1, 0))
    expect("frame_free of a frame it was only granted", call(.frameFree, granted.raw), .badCapability)
    expectSuccess("unmap of the granted page", call(.unmap, target, 1))
    expectSuccess("unmap of its own page", call(.unmap, scratch, 1))
    expectSuccess("frame_free of its own frame", call(.frameFree, own.raw))
    check("the granter was told", (try? Exo.eventSignal(granter, bits: 1)) != nil)
    // Alive (waiting) until the granter has revoked: a grantee that exited
    // first would make the revoke a race with its exit (no_such_env). The
    // time limit keeps a granter that never signals from hanging the boot.
    _ = try? Exo.eventWait(microseconds: 2_000_000)
    finishGrants("grantee")
  }

  static func finishGrants(_ who: StaticString) -> Never {
    if mismatches == 0 {
      print("\(who.description): all \(checked) grant checks answered correctly")
      Exo.exit(0)
    }
    print("\(who.description): \(mismatches) of \(checked) grant checks answered wrongly")
    Exo.exit(1)
  }
}
