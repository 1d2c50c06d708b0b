// The device interrupt lines an env can bind (`irq_bind`), and the event bit
// each sets in the bound env's pending word when it fires.

public enum DeviceLine: UInt64, CaseIterable, Sendable {
  /// COM1's receive interrupt (ISA IRQ 4): what the user types on the console.
  case serialInput = 4

  /// The event bit a delivery sets; the low bits stay for envs' own signals.
  public var eventBit: UInt64 {
    switch self {
    case .serialInput: return 1 << 63
    }
  }
}
