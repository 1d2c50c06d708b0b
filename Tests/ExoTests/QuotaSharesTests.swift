// Unit tests of the over-commit rule (secure-bindings/QuotaShares.swift):
// promises that fit are kept, and random sets of envs that over-commit the
// machine get proportional shares that fit it, within floors and ceilings.
import XCTest

@testable import SecureBindings

final class QuotaSharesTests: XCTestCase {
  typealias Claim = QuotaShares.Claim

  func testPromisesThatFitAreKeptUpToTheCeiling() {
    let claim = Claim(manifest: 512, ceiling: 300, floor: 40)
    XCTAssertEqual(QuotaShares.quota(of: claim, total: 1000, available: 1000), 300)
    XCTAssertEqual(QuotaShares.quota(of: claim, total: 999, available: 1000), 300)
  }

  func testAnOverCommittedMachineIsSharedByManifest() {
    // The boot of `reclaim:start hello tenant --memory 64` after env_start.
    let available: UInt64 = 14074
    let total: UInt64 = 64 + 128 + 16384
    XCTAssertEqual(QuotaShares.quota(of: Claim(manifest: 16384, ceiling: 16384, floor: 68), total: total, available: available), 13910)
    XCTAssertEqual(QuotaShares.quota(of: Claim(manifest: 128, ceiling: 128, floor: 43), total: total, available: available), 108)
    // The floor: the loader's frames are never asked back by a start.
    XCTAssertEqual(QuotaShares.quota(of: Claim(manifest: 64, ceiling: 64, floor: 60), total: total, available: available), 60)
    // A quota_lower wins over the floor.
    XCTAssertEqual(QuotaShares.quota(of: Claim(manifest: 64, ceiling: 10, floor: 60), total: total, available: available), 10)
  }

  func testRandomOverCommitsFitTheMachineAboveTheFloors() {
    var random = SplitMix64(seed: 0x5_4a2e)
    for _ in 0..<20_000 {
      let count = Int.random(in: 1...16, using: &random)
      let available = UInt64.random(in: 1...(1 << 32), using: &random)
      let claims = (0..<count).map { _ -> Claim in
        let manifest = UInt64.random(in: 1...65536, using: &random)
        let ceiling = UInt64.random(in: 1...manifest, using: &random)
        return Claim(manifest: manifest, ceiling: ceiling, floor: UInt64.random(in: 0...min(manifest, 256), using: &random))
      }
      let total = claims.reduce(0) { $0 + $1.manifest }
      let quotas = claims.map { QuotaShares.quota(of: $0, total: total, available: available) }
      for (claim, quota) in zip(claims, quotas) {
        XCTAssertLessThanOrEqual(quota, claim.ceiling)
        XCTAssertGreaterThanOrEqual(quota, min(claim.floor, claim.ceiling))
        if total <= available { XCTAssertEqual(quota, claim.ceiling) }
      }
      // Above the floors, the shares never promise more than the machine has.
      let beyondFloors = zip(claims, quotas).reduce(UInt64(0)) { sum, pair in
        sum + (pair.1 > pair.0.floor ? pair.1 - pair.0.floor : 0)
      }
      if total > available { XCTAssertLessThanOrEqual(beyondFloors, available) }
      // A larger manifest never gets a smaller share, ceilings and floors aside.
      let open = claims.enumerated().filter { $0.element.ceiling == $0.element.manifest && $0.element.floor == 0 }
      for a in open { for b in open where a.element.manifest <= b.element.manifest { XCTAssertLessThanOrEqual(quotas[a.offset], quotas[b.offset]) } }
    }
  }
}
