// The sizes of the kernel's tables, fixed at build time: the kernel
// allocates nothing after boot. storage.S reserves the same frame capacity.

enum Limits {
  /// Frames the frame table can name (1 GiB of RAM); RAM above is left unused.
  static let maxFrames = 262_144
  /// Grants (shared frames) that can exist at once: the mapping database's size.
  static let maxGrants = 256
  /// Envs that can exist in one boot.
  static let maxEnvs = 16
  /// Longest console line an env can write (benchmark JSON lines fit); a longer one is cut into several.
  static let lineLength = 1024
  /// The initial user stack, mapped below `UserSpace.stackTop`.
  static let userStackPages: UInt64 = 8
}
