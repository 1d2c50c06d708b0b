// The page an env shares with the kernel for exception upcalls: the
// upcalls-disabled word and the saved state of the faulting code. The
// kernel writes the trap, RIP, RFLAGS, RSP and the registers it clobbers
// (RAX, RCX, RDI, R11) through the direct map; the libOS's entry code saves
// what else its handler may clobber, handles the exception and resumes the
// faulting code without the kernel.
// libos-posix/arch/x86_64/include/exo_user.h spells the same layout for the
// assembly; a host test keeps the two equal.

public enum ExceptionSlot {
  /// Non-zero while the libOS is handling an exception; a second exception
  /// then kills the env ("fault in handler").
  public static let upcallsDisabled = 0
  public static let vector = 8
  public static let error = 16
  public static let faultAddress = 24
  public static let rip = 32
  public static let rflags = 40
  public static let rsp = 48
  /// RAX, RBX, RCX, RDX, RSI, RDI, RBP, R8 ... R15, eight bytes each. The
  /// kernel's fast path fills RAX, RCX, RDI and R11; its full path fills all.
  public static let generalRegisters = 56
  public static let generalRegisterCount = 15
  /// Where the libOS's entry code keeps the FP/SSE state (FXSAVE, 512 bytes);
  /// the kernel does not touch FP state on the way in.
  public static let fpuArea = 512
  public static let size = 1024

  /// The vector of a slice-start upcall: the slot then holds the env's main
  /// context as the timer interrupted it, and the libOS may resume it or
  /// switch to another of its threads [scheduler activations].
  public static let sliceStart: UInt64 = 0x100
  /// `set_exception_handler`'s flags.
  public static let sliceUpcallsFlag: UInt64 = 1
}

extension UserSpace {
  /// PML4 slot 254 maps the env's own page tables read-only (a recursive
  /// entry without the write bit); nothing else may be mapped there.
  public static let pageTableViewSlot: UInt64 = 254
  public static let pageTableView: UInt64 = pageTableViewSlot << 39
  public static let pageTableViewEnd: UInt64 = (pageTableViewSlot + 1) << 39

  /// A page-aligned user address where an env may map a page.
  public static func isMappable(_ address: UInt64) -> Bool {
    // One unsigned compare for both bounds, one shift for the view's slot.
    address & (pageSize - 1) == 0 && address &- lowest < top &- lowest && address >> 39 != pageTableViewSlot
  }
}
