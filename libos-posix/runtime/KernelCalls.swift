// The user-side kernel-call stubs, written against the one table in
// secure-bindings/KernelCall.swift: every number comes from `KernelCall`.
@_exported import SecureBindings
@_exported import LibOSPosix
import UserArch

public enum Exo {
  /// Raw access for tests of the kernel's argument checks: any number, any arguments.
  public static func rawCall(
    _ number: UInt64, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0,
    _ a3: UInt64 = 0, _ a4: UInt64 = 0, _ a5: UInt64 = 0
  ) -> (status: UInt64, value: UInt64) {
    let r = exo_syscall(number, a0, a1, a2, a3, a4, a5)
    return (r.status, r.value)
  }

  @inline(__always)
  static func call(_ call: KernelCall, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0) throws(ExoError) -> UInt64 {
    let r = exo_syscall(call.rawValue, a0, a1, a2, 0, 0, 0)
    guard r.status == 0 else { throw ExoError(rawValue: r.status) ?? .badArgument }
    return r.value
  }

  /// The call's (status, value) pair, for calls whose result matters on
  /// error too; these read no argument past the third (exo_syscall3).
  @inline(__always)
  static func outcome(_ call: KernelCall, _ a0: UInt64 = 0, _ a1: UInt64 = 0, _ a2: UInt64 = 0) -> (UInt64, UInt64) {
    let r = exo_syscall3(call.rawValue, a0, a1, a2)
    return (r.status, r.value)
  }

  /// Writes bytes to this env's console line, in pieces the kernel accepts.
  public static func consoleWrite(_ bytes: UnsafeRawBufferPointer) throws(ExoError) {
    var offset = 0
    while offset < bytes.count {
      let piece = min(bytes.count - offset, Int(KernelCall.consoleWriteLimit))
      let address = UInt64(UInt(bitPattern: bytes.baseAddress! + offset))
      offset += Int(try call(.consoleWrite, address, UInt64(piece)))
    }
  }

  public static func exit(_ status: Int32) -> Never {
    Console.flush()
    _ = try? call(.exit, UInt64(UInt32(bitPattern: status)))
    while true {}  // not reached: the kernel never returns from exit
  }

  public static func yield() {
    Console.flush()
    _ = try? call(.yield)
  }

  public static func envSelf() -> EnvID {
    EnvID(UInt16(truncatingIfNeeded: (try? call(.envSelf)) ?? 0))
  }

  // MARK: memory (calls 4...11)

  /// A zeroed frame charged to this env's quota.
  public static func frameAlloc() throws(ExoError) -> FrameCapability {
    FrameCapability(raw: try call(.frameAlloc))
  }

  public static func frameFree(_ capability: FrameCapability) throws(ExoError) {
    _ = try call(.frameFree, capability.raw)
  }

  /// Throws `needTable` without its level; `mapOutcome` gives the level.
  public static func map(_ address: UInt64, _ capability: FrameCapability, _ rights: PageRights) throws(ExoError) {
    _ = try call(.map, address, capability.raw, rights.raw)
  }

  public static func mapOutcome(_ address: UInt64, _ capability: FrameCapability, _ rights: PageRights) -> MapOutcome {
    let (status, value) = outcome(.map, address, capability.raw, rights.raw)
    return MapOutcome(status: status, value: value)
  }

  /// Installs a frame as the table of `level` (3, 2, 1) covering `address`.
  public static func mapTable(_ address: UInt64, level: UInt64, _ capability: FrameCapability) throws(ExoError) {
    _ = try call(.mapTable, address, level, capability.raw)
  }

  public static func mapTableOutcome(_ address: UInt64, level: UInt64, _ capability: FrameCapability) -> MapOutcome {
    let (status, value) = outcome(.mapTable, address, level, capability.raw)
    return MapOutcome(status: status, value: value)
  }

  public static func unmap(_ address: UInt64, pages: UInt64 = 1) throws(ExoError) {
    _ = try call(.unmap, address, pages)
  }

  public static func protect(_ address: UInt64, pages: UInt64 = 1, _ rights: PageRights) throws(ExoError) {
    _ = try call(.protect, address, pages, rights.raw)
  }

  /// Maps every entry, in order; throws the first failure (`mapBatchOutcome` says which entry).
  public static func mapBatch(_ entries: UnsafeBufferPointer<MapBatchEntry>) throws(ExoError) {
    let result = mapBatchOutcome(entries)
    if let error = result.error { throw error }
  }

  /// How many entries were mapped, and the error that stopped the batch at
  /// entry `mapped`, if one did.
  public static func mapBatchOutcome(_ entries: UnsafeBufferPointer<MapBatchEntry>) -> (mapped: Int, error: ExoError?) {
    let address = UInt64(UInt(bitPattern: entries.baseAddress))
    let (status, value) = outcome(.mapBatch, address, UInt64(entries.count))
    return (Int(value), status == 0 ? nil : (ExoError(rawValue: status) ?? .badArgument))
  }

  /// Lowers `env`'s frame quota to `frames` (itself, or an env started after
  /// this one); returns how many frames it was asked to give back within
  /// `turns` of its turns.
  public static func quotaLower(_ env: EnvID, frames: UInt64, turns: UInt64) throws(ExoError) -> UInt64 {
    try call(.quotaLower, UInt64(env.raw), frames, turns)
  }

  /// Loads and starts `env`, a held env listed after this one; `.noFrames`
  /// while the frames for its image are still out (call again later).
  public static func envStart(_ env: EnvID) throws(ExoError) {
    _ = try call(.envStart, UInt64(env.raw))
  }

  /// Registers (or, with entry 0, removes) the exception upcall.
  public static func setExceptionHandler(entry: UInt64, stack: UInt64, shared: UInt64, flags: UInt64 = 0)
    throws(ExoError)
  {
    let r = exo_syscall(KernelCall.setExceptionHandler.rawValue, entry, stack, shared, flags, 0, 0)
    guard r.status == 0 else { throw ExoError(rawValue: r.status) ?? .badArgument }
  }
}
