// The user half of every env's address space, and the range check a kernel
// call makes on each buffer a user claims before it touches a page of it.

public enum UserSpace {
  public static let pageSize: UInt64 = 4096
  /// Nothing user-visible is mapped below this, so a null pointer (plus a
  /// small offset) always faults instead of reading some env's data.
  public static let lowest: UInt64 = 0x10000
  /// App image segments must end at or below this, leaving room for the stack.
  public static let imageLimit: UInt64 = 0x0000_7000_0000_0000
  /// The initial user stack grows down from here.
  public static let stackTop: UInt64 = 0x0000_7fff_ffff_0000
  /// The first address past the user half (the lower canonical half).
  public static let top: UInt64 = 0x0000_8000_0000_0000
}

/// A user buffer the caller claimed, checked for range only: whether its
/// pages are mapped with the right rights is the page tables' business.
public struct UserRange: Equatable, Sendable {
  public let start: UInt64
  public let length: UInt64

  private init(start: UInt64, length: UInt64) {
    self.start = start
    self.length = length
  }

  /// A zero-length buffer names no byte, so it is accepted anywhere; any other
  /// must lie wholly in [UserSpace.lowest, UserSpace.top) without wrapping.
  public static func check(start: UInt64, length: UInt64) throws(ExoError) -> UserRange {
    let (end, overflow) = start.addingReportingOverflow(length)
    if overflow { throw .badAddress }
    if length > 0 && (start < UserSpace.lowest || end > UserSpace.top) { throw .badAddress }
    return UserRange(start: start, length: length)
  }

  /// Cannot overflow: `check` refused any range whose end wraps.
  public var end: UInt64 { start + length }

  public var firstPage: UInt64 { start & ~(UserSpace.pageSize - 1) }

  public var pageCount: UInt64 {
    guard length > 0 else { return 0 }
    // end - 1 is the last byte touched; counting from it avoids rounding end
    // up, which could overflow for a range that ends at the top of memory.
    return (end - 1) / UserSpace.pageSize - start / UserSpace.pageSize + 1
  }
}
