// What the kernel and the host agree on about a boot: the isa-debug-exit
// codes and the fixed words of the console lines the host reads.

public enum DebugExit {
  /// The I/O port of QEMU's `isa-debug-exit` device; QEMU exits with `(value << 1) | 1`.
  public static let port: UInt16 = 0xf4
  /// Written after the final "all envs exited" line: QEMU exits with 33.
  public static let allEnvsExited: UInt8 = 0x10
  /// Written after a kernel panic report: QEMU exits with 65.
  public static let panic: UInt8 = 0x20

  public static func qemuStatus(_ value: UInt8) -> Int32 { (Int32(value) << 1) | 1 }
}

public enum ConsoleWords {
  /// Every line the kernel itself writes starts with this.
  public static let kernelPrefix: StaticString = "[exo] "
  /// The last line of a good boot starts with this.
  public static let allEnvsExited: StaticString = "all envs exited"
}
