// User-level exception handling: registers the upcall entry (exception.S)
// with the kernel, with a shared page and a stack, and dispatches each
// exception to the handler the app or the libOS installed. An exception no
// handler resolves ends the app with a one-line report.
import LibOSPosix
import SecureBindings
import UserArch

public enum Exceptions {
  /// Where the shared page is mapped: its own PML4 slot (252), away from
  /// images, stack, mmap regions and the page-table view (slot 254).
  public static let sharedPage: UInt64 = 0x7e00_0000_0000
  /// An unresolved exception exits with this plus the vector (142 for #PF),
  /// as a shell reports 128 + a signal.
  public static let unresolvedStatusBase: Int32 = 128

  /// Returns true when it resolved the exception; the thread then resumes
  /// with the (possibly changed) saved state.
  public typealias Handler = (ExceptionState) -> Bool

  // Read on every exception: one thread of control touches them at a time
  // (upcalls are disabled while the handler runs), so the dynamic
  // exclusivity checks (a runtime call per access) are off for them.
  @exclusivity(unchecked) nonisolated(unsafe) static var handler: Handler? = nil
  @exclusivity(unchecked) nonisolated(unsafe) static var sliceHandler: ((ExceptionState) -> Void)? = nil
  @exclusivity(unchecked) nonisolated(unsafe) static var eventHandler: ((ExceptionState) -> Void)? = nil
  /// Slice-start upcalls received (vector `ExceptionSlot.sliceStart`).
  @exclusivity(unchecked) nonisolated(unsafe) public internal(set) static var sliceStarts: UInt64 = 0
  nonisolated(unsafe) public internal(set) static var isRegistered = false
  /// Exceptions handled at user level so far (exception.S counts them).
  public static var count: UInt64 { exo_exception_count_read() }

  /// Makes `handler` the one that sees every exception; registers the upcall
  /// with the kernel the first time (one frame for the shared page, plus the
  /// page tables it needs).
  public static func install(_ handler: @escaping Handler) throws(ExoError) {
    Exceptions.handler = handler
    guard !isRegistered else { return }
    let frame = try Exo.frameAlloc()
    do {
      try ExoPageKernel().mapSupplyingTables(sharedPage, frame, .write)
    } catch {
      try? Exo.frameFree(frame)
      throw error
    }
    exo_exception_page_set(sharedPage)
    try Exo.setExceptionHandler(
      entry: exo_exception_entry_address(), stack: exo_exception_stack_top(), shared: sharedPage)
    isRegistered = true
  }

  /// A handler exception.S calls straight for one vector (below 32), with
  /// the shared page: no closure, no dispatcher between the upcall and the
  /// handler. It returns true when it resolved the exception (wrap the page
  /// in `ExceptionState` to read and change the slot); false ends the app
  /// as an unresolved exception does. Registers the upcall like `install`
  /// (with `fallback` for every other vector, if nothing was installed).
  public typealias DirectHandler = @convention(c) (UnsafeMutableRawPointer?) -> Bool

  public static func install(vector: UInt64, _ handler: DirectHandler) throws(ExoError) {
    guard vector < UInt64(EXO_UPCALL_VECTORS) else { throw .badArgument }
    if !isRegistered { try install { _ in false } }
    exo_exception_handler_set(vector, handler)
  }

  /// `vector` goes back to the closure `install` registered.
  public static func removeDirect(vector: UInt64) {
    guard vector < UInt64(EXO_UPCALL_VECTORS) else { return }
    exo_exception_handler_set(vector, nil)
  }

  /// Asks the kernel to upcall at the start of each of this env's slices too.
  /// `handler` sees the interrupted main context (it may change it, as an
  /// exception handler may); the context is then resumed. A libOS scheduler
  /// would switch threads here.
  public static func onSliceStart(_ handler: @escaping (ExceptionState) -> Void) throws(ExoError) {
    sliceHandler = handler
    if !isRegistered { try install { _ in false } }
    try Exo.setExceptionHandler(
      entry: exo_exception_entry_address(), stack: exo_exception_stack_top(), shared: sharedPage,
      flags: ExceptionSlot.sliceUpcallsFlag)
  }

  /// Prints the one-line report and exits; the app had no answer.
  static func unresolved(_ state: ExceptionState) -> Never {
    let vector = state.vector
    if Console.count > 0 { print("") }  // the report starts a line of its own
    print(
      "unresolved \(ExceptionState.mnemonic(vector).description) at rip 0x\(hex(state.rip)), address 0x\(hex(state.faultAddress)), error 0x\(hex(state.errorCode))"
    )
    Exo.exit(unresolvedStatusBase + Int32(truncatingIfNeeded: vector & 0xff))
  }

  static func hex(_ value: UInt64) -> String { String(value, radix: 16) }
}

/// exception.S calls this for an exception (vector < 32) unless the app
/// installed a direct handler for the vector, with the shared page; true
/// when the app's closure resolved it, and exception.S then resumes the
/// thread. The slot holds RAX, RCX, RDX, RSI, RDI, R8-R11, RIP, RFLAGS and
/// RSP (what a handler may read and change); RBX, RBP and R12-R15 are not
/// saved for an exception: they are still in the registers, kept by the
/// handler's Swift code, and come back as they were.
@_cdecl("exo_exception_dispatch")
func exceptionDispatch(_ page: UnsafeMutableRawPointer) -> Bool {
  guard let handler = Exceptions.handler else { return false }
  return handler(ExceptionState(page: page))
}

/// exception.S calls this when a vector's handler did not resolve it.
@_cdecl("exo_exception_unresolved")
func exceptionUnresolved(_ page: UnsafeMutableRawPointer) -> Never {
  Exceptions.unresolved(ExceptionState(page: page))
}

/// exception.S calls this for the other upcalls (a slice start, an event
/// delivery), with every register saved in the slot; a handler may change
/// any of them, or switch threads and never return.
@_cdecl("exo_upcall_dispatch")
func upcallDispatch(_ page: UnsafeMutableRawPointer) {
  let state = ExceptionState(page: page)
  if state.vector == ExceptionSlot.sliceStart {
    Exceptions.sliceStarts &+= 1
    Exceptions.sliceHandler?(state)
  } else if state.vector == EventSlot.delivery {
    Exceptions.eventHandler?(state)
  } else {
    Exceptions.unresolved(state)
  }
}
