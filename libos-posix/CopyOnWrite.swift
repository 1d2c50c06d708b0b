// Copy-on-write between two address regions: `clone` maps every frame of a
// region a second time, read-only in both places; the first write to either
// copy of a page takes a fresh frame, copies the bytes and maps it writable
// there, and the last page still sharing a frame just regains write, with
// no copy. All of it is libOS policy over `map`/`protect`/`unmap`: the
// kernel only sees an env mapping its own frames twice.
import SecureBindings

public struct CopyOnWriteStatistics: Equatable, Sendable {
  public var copies = 0
  public var regains = 0
  public var sharedFrames = 0
  public init() {}
}

/// The bookkeeping, apart from any kernel: which page maps which frame and
/// how many pages share each frame. Host-tested on its own.
public struct CopyOnWriteTable: Sendable {
  public struct Page: Equatable, Sendable {
    public var address: UInt64
    public var frame: Int
    /// Mapped writable now (not shared, or the last sharer that regained write).
    public var writable: Bool
  }

  public private(set) var pages: [Page] = []
  public private(set) var frames: [FrameCapability] = []
  /// How many pages map each frame; 0 once the frame is given back.
  public private(set) var sharers: [Int] = []

  public init() {}

  /// What a write fault on a tracked page needs.
  public enum WriteAction: Equatable, Sendable {
    /// Other pages share the frame: copy into a new frame mapped writable here.
    case copy(from: FrameCapability)
    /// This page is the frame's last sharer: make it writable, no copy.
    case regainWrite
    /// Already writable (a fault the table cannot explain) or not tracked.
    case none
  }

  public func index(of address: UInt64) -> Int? { pages.firstIndex { $0.address == address } }

  /// A page that owns a new frame, writable.
  public mutating func add(page address: UInt64, frame: FrameCapability) {
    frames.append(frame)
    sharers.append(1)
    pages.append(Page(address: address, frame: frames.count - 1, writable: true))
  }

  /// `address` shares the frame of tracked page `source`; both become read-only.
  public mutating func share(_ address: UInt64, with source: Int) {
    let frame = pages[source].frame
    pages[source].writable = false
    sharers[frame] += 1
    pages.append(Page(address: address, frame: frame, writable: false))
  }

  public func action(forWriteTo address: UInt64) -> WriteAction {
    guard let i = index(of: address), !pages[i].writable else { return .none }
    let frame = pages[i].frame
    return sharers[frame] > 1 ? .copy(from: frames[frame]) : .regainWrite
  }

  /// The page now has its own frame (after a copy) or regained write.
  public mutating func resolved(_ address: UInt64, newFrame: FrameCapability?) {
    guard let i = index(of: address) else { return }
    if let newFrame {
      sharers[pages[i].frame] -= 1
      frames.append(newFrame)
      sharers.append(1)
      pages[i].frame = frames.count - 1
    }
    pages[i].writable = true
  }

  /// Forgets a page; returns its frame's capability if no page shares it any more.
  public mutating func remove(_ address: UInt64) -> FrameCapability? {
    guard let i = index(of: address) else { return nil }
    let frame = pages[i].frame
    pages.remove(at: i)
    sharers[frame] -= 1
    return sharers[frame] == 0 ? frames[frame] : nil
  }

  /// Frames mapped by more than one page now.
  public var sharedFrameCount: Int { sharers.filter { $0 > 1 }.count }
}

/// Copy-on-write regions over a page kernel: the real stubs in an image, a
/// fake one in the host tests.
public struct CopyOnWrite<Kernel: PageKernel> {
  public let kernel: Kernel
  public private(set) var table = CopyOnWriteTable()
  public private(set) var statistics = CopyOnWriteStatistics()
  /// One page of bounce buffer: the old frame's bytes, while the page's
  /// mapping moves to the new frame.
  private var bounce: UnsafeMutableRawPointer
  private static var page: UInt64 { UserSpace.pageSize }

  public init(kernel: Kernel) {
    self.kernel = kernel
    bounce = .allocate(byteCount: Int(UserSpace.pageSize), alignment: Int(UserSpace.pageSize))
  }

  /// Maps `pages` fresh zeroed frames at `address`, writable, tracked.
  public mutating func allocate(at address: UInt64, pages: Int) throws(ExoError) {
    for i in 0..<pages {
      let at = address + UInt64(i) * Self.page
      let frame = try kernel.frameAlloc()
      do { try kernel.mapSupplyingTables(at, frame, .write) } catch {
        try? kernel.frameFree(frame)
        throw error
      }
      table.add(page: at, frame: frame)
    }
  }

  /// Shares the `pages` tracked pages at `source` with `destination`: the
  /// same frames, mapped read-only in both regions until one writes.
  public mutating func clone(_ source: UInt64, pages: Int, to destination: UInt64) throws(ExoError) {
    for i in 0..<pages {
      let from = source + UInt64(i) * Self.page
      guard let s = table.index(of: from) else { throw .notMapped }
      let frame = table.frames[table.pages[s].frame]
      try kernel.mapSupplyingTables(destination + UInt64(i) * Self.page, frame, .readOnly)
      if table.pages[s].writable { try kernel.protect(from, pages: 1, .readOnly) }
      table.share(destination + UInt64(i) * Self.page, with: s)
    }
    statistics.sharedFrames = table.sharedFrameCount
  }

  /// Resolves a write fault on a shared page; false for anything else.
  public mutating func resolve(_ fault: PageFault) -> Bool {
    guard fault.access == .write, fault.present else { return false }
    let page = fault.page
    do throws(ExoError) {
      switch table.action(forWriteTo: page) {
      case .none:
        return false
      case .regainWrite:
        try kernel.protect(page, pages: 1, .write)
        table.resolved(page, newFrame: nil)
        statistics.regains += 1
      case .copy:
        let fresh = try kernel.frameAlloc()
        kernel.copyOut(page: page, to: bounce)
        do throws(ExoError) {
          try kernel.unmap(page, pages: 1)
          try kernel.mapSupplyingTables(page, fresh, .write)
        } catch {
          try? kernel.frameFree(fresh)
          throw error
        }
        kernel.copyIn(page: page, from: UnsafeRawPointer(bounce))
        table.resolved(page, newFrame: fresh)
        statistics.copies += 1
      }
    } catch {
      return false
    }
    statistics.sharedFrames = table.sharedFrameCount
    return true
  }

  /// Unmaps `pages` tracked pages and frees each frame no page shares any more.
  public mutating func release(_ address: UInt64, pages: Int) throws(ExoError) {
    for i in 0..<pages {
      let at = address + UInt64(i) * Self.page
      guard table.index(of: at) != nil else { throw .notMapped }
      try kernel.unmap(at, pages: 1)
      if let last = table.remove(at) { try kernel.frameFree(last) }
    }
    statistics.sharedFrames = table.sharedFrameCount
  }
}
