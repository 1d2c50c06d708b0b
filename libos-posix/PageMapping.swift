// The one way the libOS maps a page: `map`, and when the kernel answers
// need_table(level), a fresh frame installed as that table with
// `map_table`, then the map again. The env supplies its own page tables, so
// the kernel never allocates on this path.
import SecureBindings

extension PageKernel {
  /// Maps `capability` at `address`, supplying missing page tables; returns
  /// how many frames it spent on tables (they stay tables until the env exits).
  @discardableResult
  public func mapSupplyingTables(
    _ address: UInt64, _ capability: FrameCapability, _ rights: PageRights
  ) throws(ExoError) -> Int {
    var tables = 0
    // At most one table per level (3, 2, 1) can be missing; more means the
    // kernel keeps asking for the same one, and looping would hang the env.
    for _ in 0..<4 {
      switch map(address, capability, rights) {
      case .mapped: return tables
      case .failed(let error): throw error
      case .needTable(let level): tables += try supplyTable(covering: address, level: level)
      }
    }
    throw .needTable
  }

  /// Installs a new table of `level` covering `address`, and any higher one
  /// it needs first; returns the frames spent.
  public func supplyTable(covering address: UInt64, level: UInt64) throws(ExoError) -> Int {
    var spent = 0
    var wanted = level
    var spare: FrameCapability? = nil  // a frame taken but not yet installed
    // Three levels, each at most once asked for and once installed.
    for _ in 0..<8 {
      let frame: FrameCapability
      if let spare { frame = spare } else { frame = try frameAlloc() }
      spare = frame
      switch mapTable(address, level: wanted, frame) {
      case .mapped:
        spent += 1
        spare = nil
        if wanted == level { return spent }
        wanted = level  // the higher table is in; now the one first asked for
      case .needTable(let higher):
        guard higher > wanted, higher <= 3 else {
          try? frameFree(frame)
          throw .needTable
        }
        wanted = higher
      case .failed(.alreadyMapped):
        // The table exists already, which is all this wanted.
        if wanted == level {
          try? frameFree(frame)
          return spent
        }
        wanted = level
      case .failed(let error):
        try? frameFree(frame)
        throw error
      }
    }
    if let spare { try? frameFree(spare) }
    throw .needTable
  }
}
