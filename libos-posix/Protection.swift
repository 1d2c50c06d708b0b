// POSIX protections (PROT_READ, PROT_WRITE, PROT_EXEC) as a region records
// them, and the page rights they turn into at the kernel, where reading is
// implied by any mapping and "no access" means "not mapped".
import SecureBindings

public struct Protection: OptionSet, Equatable, Sendable {
  public let rawValue: UInt8
  public init(rawValue: UInt8) { self.rawValue = rawValue }

  public static let read = Protection(rawValue: 1)
  public static let write = Protection(rawValue: 2)
  public static let execute = Protection(rawValue: 4)
  public static let none: Protection = []
  public static let readWrite: Protection = [.read, .write]

  /// Whether a page with this protection may be mapped at all.
  public var isAccessible: Bool { !isEmpty }

  /// x86 cannot map write-only or execute-only: any mapping can be read.
  public func allows(_ access: Access) -> Bool {
    switch access {
    case .read: return isAccessible
    case .write: return contains(.write)
    case .execute: return contains(.execute)
    }
  }

  public var rights: PageRights {
    switch (contains(.write), contains(.execute)) {
    case (false, false): return .readOnly
    case (true, false): return .write
    case (false, true): return .execute
    case (true, true): return (try? PageRights(raw: PageRights.all)) ?? .write
    }
  }
}
