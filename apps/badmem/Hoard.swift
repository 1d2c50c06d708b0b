// badmem:hoard: an env that refuses visible revocation. It fills frames with
// a pattern and never gives any back when asked; once the deadline passes
// the kernel takes frames by force. It checks that the repossession vector
// names exactly the frames it lost (its newest, at the addresses it mapped
// them), that those capabilities and addresses are dead, that the quota
// holds, and that every byte of the pages it kept is intact. It also tries
// to lower quotas it has no authority over.
import LibOSRuntime
import SecureBindings

extension BadMem {
  static let hoardBase: UInt64 = 0x3200_0000_0000
  static let hoardPages = 24

  @inline(__always)
  static func hoardByte(_ page: Int, _ offset: Int) -> UInt8 { UInt8(truncatingIfNeeded: page &* 31 &+ offset &* 7 &+ 5) }

  static func hoard() -> Never {
    let me = Exo.envSelf()
    do throws(ExoError) { try Exceptions.install { _ in false } } catch {
      print("WRONG exception handler: \(error.name.description)")
      Exo.exit(1)
    }
    expect("quota_lower of an env started earlier", call(.quotaLower, 1, 1, 1), .badCapability)
    expect("quota_lower raising its own quota", call(.quotaLower, UInt64(me.raw), 100_000, 1), .badArgument)
    expect("quota_lower with no turns", call(.quotaLower, UInt64(me.raw), 1, 0), .badArgument)
    expect("quota_lower with 65 turns", call(.quotaLower, UInt64(me.raw), 1, 65), .badArgument)
    expect("quota_lower of env 0", call(.quotaLower, 0, 1, 1), .noSuchEnv)
    expect("quota_lower of env 999", call(.quotaLower, 999, 1, 1), .noSuchEnv)

    var frames: [FrameCapability] = []
    for i in 0..<hoardPages {
      do throws(ExoError) {
        let frame = try Exo.frameAlloc()
        try ExoPageKernel().mapSupplyingTables(hoardBase + UInt64(i) * page, frame, .write)
        frames.append(frame)
      } catch {
        print("WRONG hoarding frame \(i): \(error.name.description)")
        Exo.exit(1)
      }
      let bytes = UnsafeMutablePointer<UInt8>(bitPattern: UInt(hoardBase + UInt64(i) * page))!
      for offset in 0..<Int(page) { bytes[offset] = hoardByte(i, offset) }
    }
    // Its newest frame is shared with env 1: the forced order takes frames
    // granted to no one first, so this one must survive.
    expectSuccess("frame_grant of its newest frame to env 1", call(.frameGrant, frames[hoardPages - 1].raw, 1, 0))
    print("hoard: \(hoardPages) pages filled, the newest granted to env 1; it will give nothing back")
    var turns = 0
    while Reclaim.repossessedCount == 0 && turns < 5000 {
      Exo.yield()
      turns += 1
    }
    let asked = Reclaim.requested
    var lost: [Int] = []
    Reclaim.takeLosses { loss in
      guard let i = frames.firstIndex(of: loss.capability) else {
        mismatches += 1
        print("WRONG the vector names a frame it never hoarded: \(loss.capability.raw)")
        return
      }
      check("the vector gives the lost frame's address", loss.address == hoardBase + UInt64(i) * page)
      lost.append(i)
    }
    check("frames were taken by force", !lost.isEmpty)
    check("the vector did not overflow", !Reclaim.overflowed)
    check("no request is left outstanding", asked == 0)
    // The forced order takes the newest unshared frames first: not the granted one.
    var newest = true
    for (rank, i) in lost.enumerated() where i != hoardPages - 2 - rank { newest = false }
    check("the frames taken are its newest unshared ones, newest first", newest)
    for i in lost {
      let address = hoardBase + UInt64(i) * page
      expect("unmap of a repossessed page", call(.unmap, address, 1), .notMapped)
      expect("frame_free of a repossessed frame", call(.frameFree, frames[i].raw), .badCapability)
      expect("map of a repossessed frame", call(.map, address, frames[i].raw, 1), .badCapability)
    }
    expect("frame_alloc at the lowered quota", call(.frameAlloc), .quotaExceeded)
    var damaged = 0
    for i in 0..<hoardPages where !lost.contains(i) {
      let bytes = UnsafePointer<UInt8>(bitPattern: UInt(hoardBase + UInt64(i) * page))!
      for offset in 0..<Int(page) where bytes[offset] != hoardByte(i, offset) { damaged += 1 }
    }
    check("every byte of the pages it kept is intact", damaged == 0)
    print("hoard: lost \(lost.count) frames by force, named in its repossession vector; \(hoardPages - lost.count) pages kept, every byte verified")
    if mismatches == 0 {
      print("all \(checked) revocation checks answered correctly")
      Exo.exit(0)
    }
    print("\(mismatches) of \(checked) revocation checks answered wrongly")
    Exo.exit(1)
  }
}
