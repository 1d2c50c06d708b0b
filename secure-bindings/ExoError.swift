// The errors a kernel call can return in RAX. Zero is success and is not a case.

public enum ExoError: UInt64, Error, CaseIterable, Sendable {
  /// The call number names no kernel call.
  case unknownCall = 1
  /// A user buffer lies in the kernel half, wraps around, or is not mapped
  /// user-accessible with the rights the call needs.
  case badAddress = 2
  /// A length is larger than the call accepts.
  case badLength = 3
  /// An argument is outside the range the call accepts.
  case badArgument = 4

  public var meaning: StaticString {
    switch self {
    case .unknownCall: return "the call number names no kernel call"
    case .badAddress: return "a buffer lies in the kernel half, wraps, or is not mapped user-accessible with the rights needed"
    case .badLength: return "a length is larger than the call accepts"
    case .badArgument: return "an argument is outside the range the call accepts"
    }
  }

  public var name: StaticString {
    switch self {
    case .unknownCall: return "unknown_call"
    case .badAddress: return "bad_address"
    case .badLength: return "bad_length"
    case .badArgument: return "bad_argument"
    }
  }
}
