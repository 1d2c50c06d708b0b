// The QEMU accelerators exo boots under; every run says which one it used,
// since figures from different accelerators are not comparable.

public enum Accel: String, Sendable, CaseIterable {
  case tcg, kvm, icount

  /// How the output names it.
  public var displayName: String {
    switch self {
    case .tcg: return "TCG"
    case .kvm: return "KVM"
    case .icount: return "TCG icount"
    }
  }
}
