// The pager's kernel in an image: the real memory stubs, and page copies
// through the env's own mappings.
import LibOSPosix
import SecureBindings

public struct ExoPageKernel: PageKernel {
  public init() {}

  public func frameAlloc() throws(ExoError) -> FrameCapability { try Exo.frameAlloc() }
  public func frameFree(_ capability: FrameCapability) throws(ExoError) { try Exo.frameFree(capability) }

  public func map(_ address: UInt64, _ capability: FrameCapability, _ rights: PageRights) -> MapOutcome {
    Exo.mapOutcome(address, capability, rights)
  }

  public func mapTable(_ address: UInt64, level: UInt64, _ capability: FrameCapability) -> MapOutcome {
    Exo.mapTableOutcome(address, level: level, capability)
  }

  public func unmap(_ address: UInt64, pages: UInt64) throws(ExoError) { try Exo.unmap(address, pages: pages) }

  public func protect(_ address: UInt64, pages: UInt64, _ rights: PageRights) throws(ExoError) {
    try Exo.protect(address, pages: pages, rights)
  }

  public func copyOut(page address: UInt64, to destination: UnsafeMutableRawPointer) {
    destination.copyMemory(from: UnsafeRawPointer(bitPattern: UInt(address))!, byteCount: Int(UserSpace.pageSize))
  }

  public func copyIn(page address: UInt64, from source: UnsafeRawPointer) {
    UnsafeMutableRawPointer(bitPattern: UInt(address))!.copyMemory(from: source, byteCount: Int(UserSpace.pageSize))
  }
}
