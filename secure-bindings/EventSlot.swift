// What the kernel writes on each event delivery into the page an env shares
// with it for upcalls (after the exception slot's registers, before its FP
// area): a counter, the bits delivered, and the TSC at which the interrupt
// that caused it entered the kernel, so the env can see events without a
// kernel call and measure how long one took to reach it.
// The libOS reads them from Swift (libos-posix/runtime/EventCalls.swift).

public enum EventSlot {
  /// Deliveries so far (wraps).
  public static let count = 256
  /// The bits of the latest delivery.
  public static let bits = 264
  /// TSC at the kernel entry of the interrupt that caused the latest
  /// delivery (for a signal: the TSC at the `event_signal` call).
  public static let stamp = 272

  /// The vector of an event upcall (`event_listen` flag `upcallFlag`).
  public static let delivery: UInt64 = 0x101
  public static let upcallFlag: UInt64 = 1
}
