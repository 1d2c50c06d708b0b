// What a thread preempted at a slice-start upcall leaves on its own stack,
// so that it can be switched away from like any thread and later resumed
// with its exact state. Hardware-free (the runtime gives it the exception
// slot and the stack's memory), so a host test checks the layout against
// the pops of switch.S's `exo_thread_resume_preempted`.
//
// From the interrupted RSP down:
//   the 128-byte red zone, untouched (the thread may keep live data there);
//   exception.S's resume frame: RIP, RFLAGS, then RAX ... R15 (R15 lowest);
//   the FXSAVE image from the slot, 16-byte aligned (fxrstor needs it);
//   a switch.S frame whose pops put the resume frame's address in RBX and
//   whose `ret` enters `exo_thread_resume_preempted` with RSP at the image.
// The thread's saved RSP is that switch.S frame: whoever switches to the
// thread, by yield, block or another preemption, resumes it unchanged.
import SecureBindings

public enum PreemptedFrame {
  public static let redZone: UInt64 = 128
  static let fpuBytes: UInt64 = 512
  /// 15 GPRs, RFLAGS, RIP: exception.S's FRAME_SIZE less the red zone.
  static let resumeWords: UInt64 = UInt64(ExceptionSlot.generalRegisterCount) + 2
  /// switch.S's frame: the depth, R15 R14 R13 R12 RBX RBP, return address.
  static let switchWords = 8
  /// At most this far below the interrupted RSP (the alignment takes up to 8).
  public static let maxBytes: UInt64 = redZone + 8 * resumeWords + 8 + fpuBytes + 8 * UInt64(switchWords)

  /// Copies the interrupted context out of `slot` (the shared page) onto the
  /// stack it was using and returns the thread's new saved RSP. Writes only
  /// below the slot's RSP less the red zone.
  public static func build(slot: UnsafeRawPointer, resumeAt resume: UInt64) -> UInt64 {
    func word(_ offset: Int) -> UInt64 { slot.load(fromByteOffset: offset, as: UInt64.self) }
    let rsp = word(ExceptionSlot.rsp)
    let frameAddress = rsp &- redZone &- 8 * resumeWords
    let frame = UnsafeMutablePointer<UInt64>(bitPattern: UInt(frameAddress))!
    // Pop order is R15 first, RAX last, as exception.S's frame.
    let last = ExceptionSlot.generalRegisterCount - 1
    for i in 0...last { frame[last - i] = word(ExceptionSlot.generalRegisters + 8 * i) }
    frame[last + 1] = word(ExceptionSlot.rflags)
    frame[last + 2] = word(ExceptionSlot.rip)
    let fpu = (frameAddress &- fpuBytes) & ~15
    UnsafeMutableRawPointer(bitPattern: UInt(fpu))!.copyMemory(
      from: slot + ExceptionSlot.fpuArea, byteCount: Int(fpuBytes))
    let switchAddress = fpu &- 8 * UInt64(switchWords)
    let switchFrame = UnsafeMutablePointer<UInt64>(bitPattern: UInt(switchAddress))!
    // The depth switch.S pops first: 1, inside the library until
    // exo_thread_resume_preempted sets the thread's own 0.
    switchFrame[0] = 1
    for i in 1..<7 { switchFrame[i] = 0 }
    switchFrame[5] = frameAddress  // popped into RBX
    switchFrame[7] = resume
    return switchAddress
  }
}
