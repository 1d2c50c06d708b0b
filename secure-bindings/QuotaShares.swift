// Over-committed frame quotas: the manifests' `frames` are promises that may
// add up to more than the machine has. When an env starts or exits, the
// kernel divides the frames envs can have among the live envs in proportion
// to their manifests' quotas, so an env that starts later gets its share and
// the envs above theirs are asked to give frames back (visible revocation).
// The rule is fixed and documented here; which frames go back is each
// env's libOS's choice.

public enum QuotaShares {
  /// One live env's claim on memory.
  public struct Claim: Equatable, Sendable {
    /// Its manifest's `frames`: the weight and the most it may ever get.
    public var manifest: UInt64
    /// The lowest `quota_lower` has set (the manifest's until then): a
    /// share never rises above it.
    public var ceiling: UInt64
    /// The frames its loader took (image, stack, first page tables): the
    /// start of another env never lowers its quota below them.
    public var floor: UInt64

    public init(manifest: UInt64, ceiling: UInt64, floor: UInt64) {
      self.manifest = manifest
      self.ceiling = ceiling
      self.floor = floor
    }
  }

  /// The env's quota when the live envs' manifests add up to `total` and
  /// envs can have `available` frames: its ceiling while the promises fit,
  /// else `manifest × available / total` rounded down, raised to its floor,
  /// and never above its ceiling (a `quota_lower` wins over the floor).
  public static func quota(of claim: Claim, total: UInt64, available: UInt64) -> UInt64 {
    guard total > available else { return claim.ceiling }
    // manifest ≤ 65,536 and available < 2^48 frames: the product fits.
    let share = claim.manifest * available / total
    return min(claim.ceiling, max(claim.floor, share))
  }
}
