// The saved state of a faulting thread, as the kernel wrote it into the
// shared page (secure-bindings/ExceptionSlot.swift): what a handler reads to
// decide, and what it may change (RIP, registers) before the thread resumes.
import SecureBindings

public enum GeneralRegister: Int, CaseIterable, Sendable {
  case rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15
}

public struct ExceptionState {
  public let page: UnsafeMutableRawPointer

  public init(page: UnsafeMutableRawPointer) { self.page = page }

  private func word(_ offset: Int) -> UInt64 { page.load(fromByteOffset: offset, as: UInt64.self) }
  private func setWord(_ offset: Int, _ value: UInt64) { page.storeBytes(of: value, toByteOffset: offset, as: UInt64.self) }

  public var upcallsDisabled: UInt64 { word(ExceptionSlot.upcallsDisabled) }
  public var vector: UInt64 { word(ExceptionSlot.vector) }
  public var errorCode: UInt64 { word(ExceptionSlot.error) }
  /// CR2 at the time of a page fault.
  public var faultAddress: UInt64 { word(ExceptionSlot.faultAddress) }
  public var rflags: UInt64 { word(ExceptionSlot.rflags) }

  /// Where the thread resumes; a handler may move it (to skip an instruction).
  public var rip: UInt64 {
    get { word(ExceptionSlot.rip) }
    nonmutating set { setWord(ExceptionSlot.rip, newValue) }
  }

  public var rsp: UInt64 {
    get { word(ExceptionSlot.rsp) }
    nonmutating set { setWord(ExceptionSlot.rsp, newValue) }
  }

  public subscript(_ register: GeneralRegister) -> UInt64 {
    get { word(ExceptionSlot.generalRegisters + 8 * register.rawValue) }
    nonmutating set { setWord(ExceptionSlot.generalRegisters + 8 * register.rawValue, newValue) }
  }

  /// The page fault this is, if it is one (vector 14).
  public var pageFault: PageFault? {
    vector == 14 ? PageFault(address: faultAddress, errorCode: errorCode) : nil
  }

  /// The x86 mnemonic of a vector, for reports.
  public static func mnemonic(_ vector: UInt64) -> StaticString {
    switch vector {
    case 0: return "#DE"
    case 1: return "#DB"
    case 3: return "#BP"
    case 4: return "#OF"
    case 5: return "#BR"
    case 6: return "#UD"
    case 7: return "#NM"
    case 13: return "#GP"
    case 14: return "#PF"
    case 16: return "#MF"
    case 17: return "#AC"
    case 19: return "#XM"
    default: return "#??"
    }
  }
}

/// What a page fault's error code says about the access.
public struct PageFault: Equatable, Sendable {
  public let address: UInt64
  /// The page was present: a rights violation rather than a missing page.
  public let present: Bool
  public let access: Access

  public init(address: UInt64, present: Bool, access: Access) {
    self.address = address
    self.present = present
    self.access = access
  }

  /// x86 #PF error code: bit 0 present, bit 1 write, bit 4 instruction fetch.
  public init(address: UInt64, errorCode: UInt64) {
    self.address = address
    present = errorCode & 1 != 0
    access = errorCode & 0x10 != 0 ? .execute : (errorCode & 2 != 0 ? .write : .read)
  }

  public var page: UInt64 { address & ~(UserSpace.pageSize - 1) }
}

public enum Access: Equatable, Sendable {
  case read, write, execute
}
