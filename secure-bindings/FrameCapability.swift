// How an env names a frame to the kernel: a capability is the frame number
// and the generation the frame had when the env was given it. Authority
// lives in the kernel's tables (who owns the frame, what it is used for);
// the generation makes a capability kept past `frame_free` useless once the
// frame is handed out again [Engler95, secure bindings].

public struct FrameCapability: Equatable, Sendable {
  public let frame: Frame
  public let generation: UInt16

  public init(frame: Frame, generation: UInt16) {
    self.frame = frame
    self.generation = generation
  }

  /// The ABI word: frame number << 16 | generation.
  public init(raw: UInt64) {
    frame = Frame(number: raw >> 16)
    generation = UInt16(truncatingIfNeeded: raw)
  }

  public var raw: UInt64 { frame.number << 16 | UInt64(generation) }
}

/// Rights an env asks for on a page; reading is always allowed.
public struct PageRights: Equatable, Sendable {
  public let raw: UInt64
  public static let write = PageRights(checked: 1)
  public static let execute = PageRights(checked: 2)
  public static let readOnly = PageRights(checked: 0)
  public static let all: UInt64 = 3

  fileprivate init(checked raw: UInt64) { self.raw = raw }

  /// badArgument for any bit the ABI does not define.
  public init(raw: UInt64) throws(ExoError) {
    guard raw & ~Self.all == 0 else { throw .badArgument }
    self.raw = raw
  }

  public var writable: Bool { raw & 1 != 0 }
  public var executable: Bool { raw & 2 != 0 }
}

extension PageRights {
  public static func from(writable: Bool, executable: Bool) -> PageRights {
    PageRights(checked: (writable ? 1 : 0) | (executable ? 2 : 0))
  }
}
