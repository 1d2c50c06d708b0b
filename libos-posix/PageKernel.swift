// The memory kernel calls as the libOS's paging code sees them: a protocol,
// so the same pager runs over the real stubs in an image and over a fake
// kernel in the host tests.
import SecureBindings

/// What `map` or `map_table` answered; `needTable` carries the level (3, 2
/// or 1) of the missing intermediate table, which the ABI returns in RDX.
public enum MapOutcome: Equatable, Sendable {
  case mapped
  case needTable(level: UInt64)
  case failed(ExoError)

  /// Decodes a call's (status, value) pair.
  public init(status: UInt64, value: UInt64) {
    if status == 0 {
      self = .mapped
    } else if status == ExoError.needTable.rawValue {
      self = .needTable(level: value)
    } else {
      self = .failed(ExoError(rawValue: status) ?? .badArgument)
    }
  }
}

/// One entry of a `map_batch` array, laid out as the ABI reads it.
public struct MapBatchEntry: Equatable, Sendable {
  public var address: UInt64
  public var capability: UInt64
  public var rights: UInt64

  public init(address: UInt64, capability: FrameCapability, rights: PageRights) {
    self.address = address
    self.capability = capability.raw
    self.rights = rights.raw
  }
}

public protocol PageKernel {
  func frameAlloc() throws(ExoError) -> FrameCapability
  func frameFree(_ capability: FrameCapability) throws(ExoError)
  func map(_ address: UInt64, _ capability: FrameCapability, _ rights: PageRights) -> MapOutcome
  func mapTable(_ address: UInt64, level: UInt64, _ capability: FrameCapability) -> MapOutcome
  func unmap(_ address: UInt64, pages: UInt64) throws(ExoError)
  func protect(_ address: UInt64, pages: UInt64, _ rights: PageRights) throws(ExoError)
  /// Copies the 4 KiB page mapped at `address` to `destination`.
  func copyOut(page address: UInt64, to destination: UnsafeMutableRawPointer)
  /// Copies 4 KiB from `source` into the page mapped writable at `address`.
  func copyIn(page address: UInt64, from source: UnsafeRawPointer)
}
