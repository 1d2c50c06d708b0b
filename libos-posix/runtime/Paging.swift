// Demand-paged anonymous memory for an app: `mmap`, `munmap`, `mprotect`
// over the libOS pager (libos-posix/Pager.swift), whose page faults arrive
// through the exception upcall. The app picks the frame budget and the
// replacement policy; evicted pages go to a backing store of frames the app
// keeps mapped at `backingBase`.
import LibOSPosix
import SecureBindings

public enum Paging {
  public enum Policy { case fifo, clock }

  /// The backing store's pages: PML4 slot 250, apart from the mmap range.
  public static let backingBase: UInt64 = 0x7d00_0000_0000

  nonisolated(unsafe) static var pager: Pager<ExoPageKernel, PolicyChoice>? = nil
  /// The app's own handler, asked about every exception the pager does not
  /// resolve (a write to a read-only page, a fault outside every region).
  nonisolated(unsafe) public static var fallback: Exceptions.Handler? = nil

  /// Starts the pager: at most `budget` frames hold mmap'ed pages at once;
  /// `backingPages` frames are taken now for evicted pages.
  public static func start(budget: Int, policy: Policy, backingPages: Int) throws(VMError) {
    let kernel = ExoPageKernel()
    do throws(ExoError) {
      for i in 0..<backingPages {
        let frame = try kernel.frameAlloc()
        try kernel.mapSupplyingTables(backingBase + UInt64(i) * UserSpace.pageSize, frame, .write)
      }
    } catch {
      throw .kernel(error)
    }
    let memory = UnsafeMutableRawBufferPointer(
      start: UnsafeMutableRawPointer(bitPattern: UInt(backingBase)), count: backingPages * Int(UserSpace.pageSize))
    let choice: PolicyChoice = policy == .clock ? .clock(slots: budget) : .fifo(slots: budget)
    pager = Pager(kernel: kernel, budget: budget, policy: choice, store: BackingStore(memory: memory))
    do { try Exceptions.install(handleException) } catch { throw .kernel(error) }
  }

  static func handleException(_ state: ExceptionState) -> Bool {
    // A fault is the pager's moment to see a revocation request: the word
    // in the shared page costs one load.
    if Reclaim.requested > 0 { _ = honourReclaim() }
    if let fault = state.pageFault, pager != nil, pager!.resolve(fault) { return true }
    if let fallback { return fallback(state) }
    return false
  }

  /// Anonymous private memory, zero-filled, paged in on first touch.
  public static func mmap(length: UInt64, protection: Protection) throws(VMError) -> UnsafeMutableRawPointer {
    guard pager != nil else { throw .invalidArgument }
    let address = try pager!.mmap(length: length, protection: protection)
    return UnsafeMutableRawPointer(bitPattern: UInt(address))!
  }

  public static func munmap(_ address: UnsafeMutableRawPointer, length: UInt64) throws(VMError) {
    guard pager != nil else { throw .invalidArgument }
    try pager!.munmap(UInt64(UInt(bitPattern: address)), length: length)
  }

  public static func mprotect(_ address: UnsafeMutableRawPointer, length: UInt64, protection: Protection) throws(VMError) {
    guard pager != nil else { throw .invalidArgument }
    try pager!.mprotect(UInt64(UInt(bitPattern: address)), length: length, protection: protection)
  }

  /// Meets the kernel's request for frames by evicting pages, and forgets
  /// pages whose frames the kernel took by force (their bytes are gone;
  /// they read as zero). Returns how many frames were given back.
  public static func honourReclaim() -> Int {
    guard pager != nil else { return 0 }
    Reclaim.takeLosses { loss in _ = pager!.forget(repossessed: loss.capability) }
    let asked = Reclaim.requested
    guard asked > 0 else { return 0 }
    return pager!.giveBack(Int(min(asked, UInt64(Int.max))))
  }

  public static var statistics: PagerStatistics { pager?.statistics ?? PagerStatistics() }
  public static var residentFrames: Int { pager?.resident.count ?? 0 }
  public static var lastError: VMError? { pager?.lastError }
}
