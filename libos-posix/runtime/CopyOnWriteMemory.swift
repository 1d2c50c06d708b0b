// Copy-on-write regions in an image: libos-posix/CopyOnWrite.swift over the
// real memory stubs, its write faults arriving through the exception upcall.
import LibOSPosix
import SecureBindings

public enum CopyOnWriteMemory {
  nonisolated(unsafe) static var regions: CopyOnWrite<ExoPageKernel>? = nil

  /// Installs the fault handler; another exception handler (the pager's)
  /// is replaced, so an app uses one or the other today.
  public static func start() throws(ExoError) {
    regions = CopyOnWrite(kernel: ExoPageKernel())
    try Exceptions.install { state in
      guard let fault = state.pageFault, regions != nil else { return false }
      return regions!.resolve(fault)
    }
  }

  /// `pages` zeroed writable pages at `address`, each on a frame of its own.
  public static func allocate(at address: UInt64, pages: Int) throws(ExoError) {
    guard regions != nil else { throw .badArgument }
    try regions!.allocate(at: address, pages: pages)
  }

  /// `destination` becomes a copy of `source` that shares its frames until either writes.
  public static func clone(_ source: UInt64, pages: Int, to destination: UInt64) throws(ExoError) {
    guard regions != nil else { throw .badArgument }
    try regions!.clone(source, pages: pages, to: destination)
  }

  public static func release(_ address: UInt64, pages: Int) throws(ExoError) {
    guard regions != nil else { throw .badArgument }
    try regions!.release(address, pages: pages)
  }

  public static var statistics: CopyOnWriteStatistics { regions?.statistics ?? CopyOnWriteStatistics() }
}
