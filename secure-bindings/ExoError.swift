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
  /// A capability names no frame the caller holds, or a frame since reused.
  case badCapability = 5
  /// The caller already holds as many frames as its quota allows.
  case quotaExceeded = 6
  /// No free frame is left in the machine.
  case noFrames = 7
  /// An intermediate page table is missing; the result value names its level
  /// (`map`, `map_table`) or the failing entry (`map_batch`).
  case needTable = 8
  /// The page (or table slot) is mapped already.
  case alreadyMapped = 9
  /// A page the call needs mapped is not.
  case notMapped = 10
  /// The frame is mapped, a page table, or a registered shared page.
  case frameInUse = 11
  /// A bounded kernel table (grants) has no room left.
  case tableFull = 12
  /// The env id names no live env other than the caller.
  case noSuchEnv = 13
  /// The callee is serving another call, or the caller is itself serving one.
  case busy = 14
  /// The machine has no network device, or the env has no network binding.
  case noDevice = 15
  /// The packet filter is malformed or does not prove the binding; the result value names the reason.
  case badFilter = 16
  /// The packet filter may claim frames another env's filter holds.
  case conflict = 17
  /// A frame to send names a source other than the env's binding.
  case spoofed = 18

  public var meaning: StaticString {
    switch self {
    case .unknownCall: return "the call number names no kernel call"
    case .badAddress: return "a buffer lies in the kernel half, wraps, or is not mapped user-accessible with the rights needed"
    case .badLength: return "a length is larger than the call accepts"
    case .badArgument: return "an argument is outside the range the call accepts"
    case .badCapability: return "a capability names no frame the caller holds, or a frame since reused"
    case .quotaExceeded: return "the caller holds as many frames as its quota allows"
    case .noFrames: return "no free frame is left"
    case .needTable: return "an intermediate page table is missing; from map and map_table the result value names its level (3, 2 or 1), from map_batch the failing entry"
    case .alreadyMapped: return "the page or table slot is mapped already"
    case .notMapped: return "a page the call needs mapped is not"
    case .frameInUse: return "the frame is mapped, a page table, a registered shared page, or granted"
    case .tableFull: return "a bounded kernel table (grants) has no room left"
    case .noSuchEnv: return "the env id names no live env other than the caller"
    case .busy: return "the callee is serving another call, the caller is itself serving one, or the device has no room"
    case .noDevice: return "no network device, or the env has no network binding (mac= in its boot configuration)"
    case .badFilter: return "the packet filter is malformed or does not prove the env's binding; the result value names the reason"
    case .conflict: return "the packet filter may claim frames another env's filter holds"
    case .spoofed: return "the frame's source MAC, IPv4 or ARP sender is not the env's binding, or its type is not IPv4 or ARP"
    }
  }

  public var name: StaticString {
    switch self {
    case .unknownCall: return "unknown_call"
    case .badAddress: return "bad_address"
    case .badLength: return "bad_length"
    case .badArgument: return "bad_argument"
    case .badCapability: return "bad_capability"
    case .quotaExceeded: return "quota_exceeded"
    case .noFrames: return "no_frames"
    case .needTable: return "need_table"
    case .alreadyMapped: return "already_mapped"
    case .notMapped: return "not_mapped"
    case .frameInUse: return "frame_in_use"
    case .tableFull: return "table_full"
    case .noSuchEnv: return "no_such_env"
    case .busy: return "busy"
    case .noDevice: return "no_device"
    case .badFilter: return "bad_filter"
    case .conflict: return "conflict"
    case .spoofed: return "spoofed"
    }
  }
}
