// The regions `mmap` reserves in the libOS's part of the address space, and
// for each page its protection and where its bytes are. The address
// allocator is first fit, with an unreserved guard page after every region
// so that running off its end faults instead of landing in a neighbour.
import SecureBindings

public enum PageState: Equatable, Sendable {
  /// Never touched: zero-filled on the first fault.
  case untouched
  /// Holds a frame: its entry in the resident set.
  case resident(slot: Int)
  /// Evicted: its bytes are in this backing-store slot.
  case swapped(slot: Int)
}

public struct PageRecord: Equatable, Sendable {
  public var protection: Protection
  public var state: PageState
}

public struct Region: Sendable {
  public let start: UInt64
  public var pages: [PageRecord]

  public var end: UInt64 { start + UInt64(pages.count) * UserSpace.pageSize }
}

public struct RegionMap: Sendable {
  public static let base: UInt64 = 0x1000_0000_0000
  public static let limit: UInt64 = 0x2000_0000_0000
  static let page = UserSpace.pageSize

  /// Sorted by start; no two overlap.
  public private(set) var regions: [Region] = []

  public init() {}

  /// A new region of `pages` untouched pages, or nil when no gap is large enough.
  public mutating func reserve(pages: Int, protection: Protection) -> UInt64? {
    guard pages > 0, UInt64(pages) < (Self.limit - Self.base) / Self.page else { return nil }
    let size = UInt64(pages) * Self.page
    var candidate = Self.base
    var index = 0
    while index < regions.count {
      if candidate + size + Self.page <= regions[index].start { break }
      candidate = regions[index].end + Self.page
      index += 1
    }
    guard candidate + size <= Self.limit else { return nil }
    let record = PageRecord(protection: protection, state: .untouched)
    regions.insert(Region(start: candidate, pages: Array(repeating: record, count: pages)), at: index)
    return candidate
  }

  /// The region and page index holding `address`, by binary search.
  public func locate(_ address: UInt64) -> (region: Int, page: Int)? {
    var low = 0
    var high = regions.count
    while low < high {
      let mid = (low + high) / 2
      if regions[mid].end <= address {
        low = mid + 1
      } else if regions[mid].start > address {
        high = mid
      } else {
        return (mid, Int((address - regions[mid].start) / Self.page))
      }
    }
    return nil
  }

  public subscript(_ location: (region: Int, page: Int)) -> PageRecord {
    get { regions[location.region].pages[location.page] }
    set { regions[location.region].pages[location.page] = newValue }
  }

  /// Whether every page of [start, start + pages pages) lies in some region.
  public func covers(_ start: UInt64, pages: Int) -> Bool {
    var address = start
    for _ in 0..<pages {
      guard let at = locate(address) else { return false }
      // Jump to the end of this region rather than testing each page.
      let region = regions[at.region]
      if region.end >= start + UInt64(pages) * Self.page { return true }
      address = region.end
    }
    return true
  }

  /// Forgets the pages of [start, end), trimming or splitting the regions it cuts.
  public mutating func release(_ start: UInt64, pages: Int) {
    let end = start + UInt64(pages) * Self.page
    var kept: [Region] = []
    kept.reserveCapacity(regions.count + 1)
    for region in regions {
      if region.end <= start || region.start >= end {
        kept.append(region)
        continue
      }
      if region.start < start {
        let count = Int((start - region.start) / Self.page)
        kept.append(Region(start: region.start, pages: Array(region.pages[0..<count])))
      }
      if region.end > end {
        let skip = Int((end - region.start) / Self.page)
        kept.append(Region(start: end, pages: Array(region.pages[skip...])))
      }
    }
    regions = kept
  }
}
