// Time without a kernel call: the kernel's calibrated time scale, read from
// the page it maps read-only into every env (secure-bindings/TimePage.swift).
import SecureBindings
import UserArch

public enum Time {
  /// TSC ticks per millisecond (guest instructions under -icount).
  public static var tscPerMillisecond: UInt64 { exo_load64(TimePage.address + UInt64(TimePage.tscPerMillisecond)) }
  public static var sliceMicroseconds: UInt64 { exo_load64(TimePage.address + UInt64(TimePage.sliceMicroseconds)) }

  /// TSC ticks in `microseconds`.
  public static func ticks(microseconds: UInt64) -> UInt64 { microseconds &* tscPerMillisecond / 1000 }

  public static func now() -> UInt64 { exo_rdtsc() }
}
