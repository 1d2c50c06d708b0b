// The network kernel calls from the libOS's side: attach a receive ring,
// bind and unbind packet filters, send one frame. What the frames mean is
// the network libOS's business (libos-net).
import SecureBindings
import UserArch

extension Exo {
  /// Gives the kernel the receive ring: the control page's capability first,
  /// then the slot frames'. Returns the number of slots.
  public static func netAttach(_ capabilities: UnsafeBufferPointer<UInt64>) throws(ExoError) -> Int {
    let base = UInt64(UInt(bitPattern: capabilities.baseAddress))
    return Int(try call(.netAttach, base, UInt64(capabilities.count)))
  }

  /// Binds an encoded packet filter; the id, or the error with the verifier's
  /// reason code in `reason` for `bad_filter`.
  public static func netBind(_ program: UnsafeRawBufferPointer) -> (status: ExoError?, value: UInt64) {
    let (status, value) = outcome(.netBind, UInt64(UInt(bitPattern: program.baseAddress)), UInt64(program.count))
    return (status == 0 ? nil : ExoError(rawValue: status) ?? .badArgument, value)
  }

  public static func netUnbind(_ filter: UInt64) throws(ExoError) {
    _ = try call(.netUnbind, filter)
  }

  /// Sends one Ethernet frame (the device reads it from where it is after
  /// the call returns); `busy` when the device's queue is full. Returns how
  /// many of this env's sends the device has finished reading.
  public static func netSend(_ frame: UnsafeRawBufferPointer) throws(ExoError) -> UInt64 {
    try call(.netSend, UInt64(UInt(bitPattern: frame.baseAddress)), UInt64(frame.count))
  }

  /// How many of this env's sends the device has finished reading (a send of nothing).
  public static func netSendsDone() throws(ExoError) -> UInt64 { try call(.netSend, 0, 0) }
}
