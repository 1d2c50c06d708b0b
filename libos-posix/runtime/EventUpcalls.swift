// Events without a kernel call: the counter, bits and interrupt stamp the
// kernel writes into the shared page on each delivery (EventSlot), and the
// upcall a delivery makes when the env asked for one (`event_listen` flag),
// dispatched here from the exception entry.
import SecureBindings
import UserArch

public enum Events {
  /// Registers the shared page (if no handler did yet) and runs `handler`
  /// in an upcall on every event delivery, with the interrupted context in
  /// the slot; returning resumes it. `senders` as for `eventListen`.
  public static func onDelivery(senders: UInt64 = 0, _ handler: @escaping (ExceptionState) -> Void) throws(ExoError) {
    Exceptions.eventHandler = handler
    if !Exceptions.isRegistered { try Exceptions.install { _ in false } }
    Exo.eventListen(senders: senders, upcalls: true)
  }

  /// Deliveries so far; 0 until the shared page is registered.
  public static var count: UInt64 { slot(EventSlot.count) }
  /// The bits of the latest delivery.
  public static var latestBits: UInt64 { slot(EventSlot.bits) }
  /// TSC when the interrupt behind the latest delivery entered the kernel.
  public static var latestStamp: UInt64 { slot(EventSlot.stamp) }

  private static func slot(_ offset: Int) -> UInt64 {
    Exceptions.isRegistered ? exo_load64(Exceptions.sharedPage + UInt64(offset)) : 0
  }
}
