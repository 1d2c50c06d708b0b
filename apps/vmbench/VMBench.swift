// vmbench: Appel & Li's virtual-memory primitives timed as the 1995
// exokernel paper ran them, plus the user-level fault round trip, one map,
// one map_batch of 100 pages, a null kernel call and a bare upcall (a #UD
// the handler steps over). Each is the median and p99 of many rdtsc deltas
// (guest instructions under icount); the last line is the evaluation's JSON.
import LibOSRuntime
import SecureBindings
import UserArch

@main
struct VMBench {
  static let page = UserSpace.pageSize
  /// The 100 pages the protection benchmarks work on.
  static let bench: UInt64 = 0x4000_0000_0000
  static let benchPages = 100
  /// Pages the fault round trip maps from its handler.
  static let faultArea: UInt64 = 0x4100_0000_0000
  /// Where map and map_batch map.
  static let mapArea: UInt64 = 0x4200_0000_0000
  static let runs = Benchmark.runs(200, tracing: 50)  // the fault benchmarks need 50 (one batch)
  static let longRuns = Benchmark.runs(40, tracing: 5)

  @exclusivity(unchecked) nonisolated(unsafe) static var unprotected: UInt64 = 0
  @exclusivity(unchecked) nonisolated(unsafe) static var faultFrames: [FrameCapability] = []
  /// The frames the libOS took ahead of the faults (`fault_map`), as raw
  /// capabilities: the address of the next to use and the pool's end (plain
  /// words, 0 until that benchmark runs: a constant needs no lazy set-up,
  /// and the handler reads them with no optional to unwrap).
  @exclusivity(unchecked) nonisolated(unsafe) static var poolNext: UInt64 = 0
  @exclusivity(unchecked) nonisolated(unsafe) static var poolEnd: UInt64 = 0
  @exclusivity(unchecked) nonisolated(unsafe) static var handlerError: ExoError? = nil
  nonisolated(unsafe) static var random: UInt64 = 0x9e37_79b9_7f4a_7c15

  static func main() {
    do throws(ExoError) {
      try run()
    } catch {
      print("vmbench: kernel call failed: \(error.name.description)")
      Exo.exit(1)
    }
  }

  static func run() throws(ExoError) {
    try Exceptions.install { _ in false }  // each benchmark installs its own handler for its vector
    let kernel = ExoPageKernel()
    for i in 0..<benchPages {
      let address = bench + UInt64(i) * page
      try kernel.mapSupplyingTables(address, try Exo.frameAlloc(), .write)
      exo_store64(address, UInt64(i))  // dirty, for the dirty benchmark
    }
    Benchmark.calibrate()

    var results: [(StaticString, (median: UInt64, p99: UInt64))] = []
    results.append(("null_call", Benchmark.nullCall(runs: runs)))
    results.append(("upcall", try upcall()))
    results.append(("dirty", try dirty()))
    results.append(("prot1", try prot1()))
    results.append(("prot100", try prot100()))
    results.append(("unprot100", try unprot100()))
    results.append(("trap", try trap()))
    results.append(("appel1", try appel1()))
    results.append(("appel2", try appel2()))
    results.append(("fault", try faultRoundTrip()))
    results.append(("fault_map", try faultMapRoundTrip()))
    results.append(("map", try mapOne()))
    results.append(("map_batch100", try mapBatch()))
    if let handlerError { throw handlerError }

    print(
      "vmbench: \(Exceptions.count) exceptions handled at user level; rdtsc pair \(Samples.overhead) \(Benchmark.accel.unit.description) subtracted"
    )
    Benchmark.report("vmbench", results)
  }

  // MARK: the handlers

  // Each benchmark installs the handler for the one vector it provokes
  // (Exceptions.install(vector:)): exception.S calls it straight with the
  // shared page; anything else it does not resolve is a bug.
  static let invalidOpcode: UInt64 = 6
  static let pageFault: UInt64 = 14

  /// The bare upcall: step over the ud2.
  static let stepOver: Exceptions.DirectHandler = { page in
    ExceptionState(page: page.unsafelyUnwrapped).rip += 2
    return true
  }

  /// `trap`, `appel2`: unprotect the faulting page.
  static let unprotect: Exceptions.DirectHandler = { page in
    guard let fault = ExceptionState(page: page.unsafelyUnwrapped).pageFault else { return false }
    return resolved { () throws(ExoError) in try Exo.protect(fault.page, pages: 1, .write) }
  }

  /// `appel1`: protect the page unprotected last, unprotect the faulting one.
  static let swapProtection: Exceptions.DirectHandler = { page in
    guard let fault = ExceptionState(page: page.unsafelyUnwrapped).pageFault else { return false }
    return resolved { () throws(ExoError) in
      try Exo.protect(unprotected, pages: 1, .readOnly)
      try Exo.protect(fault.page, pages: 1, .write)
      unprotected = fault.page
    }
  }

  /// `fault`: take a frame (zeroed by the kernel) and map it.
  static let allocateAndMap: Exceptions.DirectHandler = { page in
    guard let fault = ExceptionState(page: page.unsafelyUnwrapped).pageFault else { return false }
    return resolved { () throws(ExoError) in
      let frame = try Exo.frameAlloc()
      try ExoPageKernel().mapSupplyingTables(fault.page, frame, .write)
      faultFrames.append(frame)
    }
  }

  /// `fault_map`'s handler, when `map` did not map (a missing table, which
  /// is supplied and counted in): the frame just taken, at the fault's page.
  @inline(never)
  static func mapSupplyingTables() -> Bool {
    let page = UnsafeMutableRawPointer(bitPattern: UInt(Exceptions.sharedPage)).unsafelyUnwrapped
    guard let fault = ExceptionState(page: page).pageFault else { return false }
    let frame = FrameCapability(raw: UnsafePointer<UInt64>(bitPattern: UInt(poolNext &- 8)).unsafelyUnwrapped.pointee)
    return resolved { () throws(ExoError) in try ExoPageKernel().mapSupplyingTables(fault.page, frame, .write) }
  }

  /// Runs a handler's kernel calls; a failure is kept for `run` to report.
  static func resolved(_ body: () throws(ExoError) -> Void) -> Bool {
    do throws(ExoError) {
      try body()
      return true
    } catch {
      handlerError = error
      return false
    }
  }

  // MARK: the benchmarks

  /// The exception path alone: a #UD, the handler steps over it, resume.
  static func upcall() throws(ExoError) -> (median: UInt64, p99: UInt64) {
    var s = Samples(capacity: runs)
    try Exceptions.install(vector: invalidOpcode, stepOver)
    for _ in 0..<runs {
      let t0 = exo_rdtsc()
      exo_try_ud2()
      let t1 = exo_rdtsc()
      s.add(t0, t1)
    }
    Exceptions.removeDirect(vector: invalidOpcode)
    return s.summary()
  }

  /// Whether a page is dirty: one load of its level-1 entry through the view.
  static func dirty() throws(ExoError) -> (median: UInt64, p99: UInt64) {
    var s = Samples(capacity: runs)
    var dirtyPages = 0
    for i in 0..<runs {
      let entry = PageTableView.entryAddress(of: bench + UInt64(i % benchPages) * page, level: 1)
      let t0 = exo_rdtsc()
      let isDirty = exo_load64(entry) & PageTableView.dirty != 0
      let t1 = exo_rdtsc()
      s.add(t0, t1)
      if isDirty { dirtyPages += 1 }
    }
    if dirtyPages != runs { print("vmbench: only \(dirtyPages) of \(runs) written pages read as dirty") }
    return s.summary()
  }

  static func prot1() throws(ExoError) -> (median: UInt64, p99: UInt64) {
    var s = Samples(capacity: runs)
    for i in 0..<runs {
      let address = bench + UInt64(i % benchPages) * page
      let t0 = exo_rdtsc()
      try Exo.protect(address, pages: 1, .readOnly)
      let t1 = exo_rdtsc()
      s.add(t0, t1)
      try Exo.protect(address, pages: 1, .write)
    }
    return s.summary()
  }

  static func prot100() throws(ExoError) -> (median: UInt64, p99: UInt64) {
    var s = Samples(capacity: longRuns)
    for _ in 0..<longRuns {
      let t0 = exo_rdtsc()
      try Exo.protect(bench, pages: UInt64(benchPages), .readOnly)
      let t1 = exo_rdtsc()
      s.add(t0, t1)
      try Exo.protect(bench, pages: UInt64(benchPages), .write)
    }
    return s.summary()
  }

  static func unprot100() throws(ExoError) -> (median: UInt64, p99: UInt64) {
    var s = Samples(capacity: longRuns)
    for _ in 0..<longRuns {
      try Exo.protect(bench, pages: UInt64(benchPages), .readOnly)
      let t0 = exo_rdtsc()
      try Exo.protect(bench, pages: UInt64(benchPages), .write)
      let t1 = exo_rdtsc()
      s.add(t0, t1)
    }
    return s.summary()
  }

  /// A write to a read-only page; the handler unprotects it; the write retries.
  static func trap() throws(ExoError) -> (median: UInt64, p99: UInt64) {
    var s = Samples(capacity: runs)
    try Exceptions.install(vector: pageFault, unprotect)
    for i in 0..<runs {
      let address = bench + UInt64(i % benchPages) * page
      try Exo.protect(address, pages: 1, .readOnly)
      let t0 = exo_rdtsc()
      exo_store64(address, UInt64(i))
      let t1 = exo_rdtsc()
      s.add(t0, t1)
    }
    Exceptions.removeDirect(vector: pageFault)
    return s.summary()
  }

  /// All pages protected but one; a write to a random protected page; the
  /// handler protects the one left open and unprotects the faulting one.
  static func appel1() throws(ExoError) -> (median: UInt64, p99: UInt64) {
    var s = Samples(capacity: runs)
    try Exo.protect(bench + page, pages: UInt64(benchPages - 1), .readOnly)
    unprotected = bench
    try Exceptions.install(vector: pageFault, swapProtection)
    for i in 0..<runs {
      var address = bench + (next() % UInt64(benchPages)) * page
      if address == unprotected { address = bench + ((address - bench) / page + 1) % UInt64(benchPages) * page }
      let t0 = exo_rdtsc()
      exo_store64(address, UInt64(i))
      let t1 = exo_rdtsc()
      s.add(t0, t1)
    }
    Exceptions.removeDirect(vector: pageFault)
    try Exo.protect(bench, pages: UInt64(benchPages), .write)
    return s.summary()
  }

  /// Protect 100 pages, then write each in random order, the handler
  /// unprotecting each; per page.
  static func appel2() throws(ExoError) -> (median: UInt64, p99: UInt64) {
    var s = Samples(capacity: longRuns)
    var order = Array(0..<benchPages)
    try Exceptions.install(vector: pageFault, unprotect)
    for _ in 0..<longRuns {
      for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(next() % UInt64(i + 1))) }
      let t0 = exo_rdtsc()
      try Exo.protect(bench, pages: UInt64(benchPages), .readOnly)
      for j in order { exo_store64(bench + UInt64(j) * page, UInt64(j)) }
      let t1 = exo_rdtsc()
      let total = t1 &- t0
      s.add(value: (total > Samples.overhead ? total - Samples.overhead : 0) / UInt64(benchPages))
    }
    Exceptions.removeDirect(vector: pageFault)
    return s.summary()
  }

  /// A write to an unmapped page; the handler takes a frame and maps it.
  static func faultRoundTrip() throws(ExoError) -> (median: UInt64, p99: UInt64) {
    var s = Samples(capacity: runs)
    let batch = 50
    faultFrames.reserveCapacity(batch)
    try prime(faultArea)
    try Exceptions.install(vector: pageFault, allocateAndMap)
    for round in 0..<(runs / batch) {
      touchFaultArea(pages: batch, round: round, into: &s)
      try Exo.unmap(faultArea, pages: UInt64(batch))
      for frame in faultFrames { try Exo.frameFree(frame) }
      faultFrames.removeAll(keepingCapacity: true)
    }
    Exceptions.removeDirect(vector: pageFault)
    return s.summary()
  }

  /// Writes the first word of each of `pages` unmapped pages, timing each fault.
  static func touchFaultArea(pages: Int, round: Int, into s: inout Samples) {
    for j in 0..<pages {
      let address = faultArea + UInt64(j) * page
      let t0 = exo_rdtsc()
      exo_store64(address, UInt64(round))
      let t1 = exo_rdtsc()
      s.add(t0, t1)
    }
  }

  /// The round trip as the exokernel paper counts it: fault, handler, one
  /// `map`, resume. The libOS takes its frames ahead (a pool filled outside
  /// the timed region), as a pager that allocates in batches would.
  static func faultMapRoundTrip() throws(ExoError) -> (median: UInt64, p99: UInt64) {
    var s = Samples(capacity: runs)
    let batch = 50
    try prime(faultArea)
    let frames = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: batch)
    defer { frames.deallocate() }
    let start = UInt64(UInt(bitPattern: frames.baseAddress))
    for round in 0..<(runs / batch) {
      for i in 0..<batch { frames[i] = try Exo.frameAlloc().raw }
      poolNext = start
      poolEnd = start + UInt64(batch * MemoryLayout<UInt64>.stride)
      try Exceptions.install(vector: pageFault, vmbenchMapFromPool)
      touchFaultArea(pages: batch, round: round, into: &s)
      Exceptions.removeDirect(vector: pageFault)
      poolEnd = poolNext  // empty: a stray fault is not resolved from it
      try Exo.unmap(faultArea, pages: UInt64(batch))
      for frame in frames { try Exo.frameFree(FrameCapability(raw: frame)) }
    }
    return s.summary()
  }

  static func mapOne() throws(ExoError) -> (median: UInt64, p99: UInt64) {
    var s = Samples(capacity: runs)
    try prime(mapArea)
    let frame = try Exo.frameAlloc()
    for _ in 0..<runs {
      let t0 = exo_rdtsc()
      try Exo.map(mapArea, frame, .write)
      let t1 = exo_rdtsc()
      s.add(t0, t1)
      try Exo.unmap(mapArea, pages: 1)
    }
    try Exo.frameFree(frame)
    return s.summary()
  }

  static func mapBatch() throws(ExoError) -> (median: UInt64, p99: UInt64) {
    var s = Samples(capacity: longRuns)
    var entries: [MapBatchEntry] = []
    for i in 0..<benchPages {
      entries.append(MapBatchEntry(address: mapArea + UInt64(i) * page, capability: try Exo.frameAlloc(), rights: .write))
    }
    for _ in 0..<longRuns {
      let t0 = exo_rdtsc()
      let result = entries.withUnsafeBufferPointer { Exo.mapBatchOutcome($0) }
      let t1 = exo_rdtsc()
      if let error = result.error { throw error }
      s.add(t0, t1)
      try Exo.unmap(mapArea, pages: UInt64(benchPages))
    }
    for entry in entries { try Exo.frameFree(FrameCapability(raw: entry.capability)) }
    return s.summary()
  }

  // MARK: helpers

  /// Maps and unmaps one page so that the tables covering `address` exist
  /// before anything is timed there.
  static func prime(_ address: UInt64) throws(ExoError) {
    let frame = try Exo.frameAlloc()
    try ExoPageKernel().mapSupplyingTables(address, frame, .write)
    try Exo.unmap(address, pages: 1)
    try Exo.frameFree(frame)
  }

  static func next() -> UInt64 {
    random ^= random << 13
    random ^= random >> 7
    random ^= random << 17
    return random
  }
}

/// `fault_map`'s handler: the next frame from the pool, mapped at the fault's
/// page by one `map` (the tables exist). A C function that exception.S calls
/// straight (the symbol is the body: no thunk, no closure context), reading
/// the pool as plain words; it is installed for #PF alone, so the vector is
/// not tested again. Anything but `map`'s success goes out of line.
@c(vmbench_map_from_pool)
func vmbenchMapFromPool(_ page: UnsafeMutableRawPointer?) -> Bool {
  let address = page.unsafelyUnwrapped.load(fromByteOffset: ExceptionSlot.faultAddress, as: UInt64.self) & ~(UserSpace.pageSize - 1)
  let next = VMBench.poolNext
  guard next < VMBench.poolEnd else { return false }
  VMBench.poolNext = next &+ 8
  let frame = FrameCapability(raw: UnsafePointer<UInt64>(bitPattern: UInt(next)).unsafelyUnwrapped.pointee)
  return Exo.mapOutcome(address, frame, .write) == .mapped || VMBench.mapSupplyingTables()
}
