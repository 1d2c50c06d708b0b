// The read-only page the kernel maps into every env: the time scale it
// calibrated at boot, so a libOS can turn TSC ticks into time without a
// kernel call.

public enum TimePage {
  /// Just above the initial stack, in every env.
  public static let address: UInt64 = UserSpace.stackTop
  /// TSC ticks per millisecond (under -icount: guest instructions).
  public static let tscPerMillisecond = 0
  /// The length of one slice, in microseconds.
  public static let sliceMicroseconds = 8
  /// Local APIC timer ticks per millisecond.
  public static let apicTicksPerMillisecond = 16
}
