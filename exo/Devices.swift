// Device interrupts bound to envs: an env binds a line (`irq_bind`); when
// it fires the kernel takes the device's data, sets the line's event bit in
// the env's pending word and wakes it if it waits. Only the binding env sees
// the line; a line is bound by one env at a time and freed at its exit.
import SecureBindings

enum Devices {
  typealias EnvRef = UnsafeMutablePointer<Env>

  static let serialVector: UInt64 = 0x24

  /// The env holding the serial input line (constant-initialised).
  nonisolated(unsafe) private static var serialOwner: EnvRef? = nil

  static func initialize() {
    IOAPIC.initialize()
    IOAPIC.route(DeviceLine.serialInput.rawValue, to: serialVector, enabled: false)
  }

  static func bind(_ env: EnvRef, _ raw: UInt64) throws(CallFailure) {
    guard let line = DeviceLine(rawValue: raw) else { throw CallFailure(.badArgument) }
    switch line {
    case .serialInput:
      if let owner = serialOwner, owner != env { throw CallFailure(.busy) }
      serialOwner = env
      Serial.enableReceiveInterrupt(true)
      IOAPIC.route(line.rawValue, to: serialVector, enabled: true)
    }
  }

  /// Whether a device interrupt can wake the env.
  static func holdsLine(_ env: EnvRef) -> Bool { serialOwner == env }

  /// At exit: the env's lines are masked again and free for others.
  static func unbind(_ env: EnvRef) {
    guard serialOwner == env else { return }
    serialOwner = nil
    Serial.enableReceiveInterrupt(false)
    IOAPIC.route(DeviceLine.serialInput.rawValue, to: serialVector, enabled: false)
  }

  /// The serial line fired: move every waiting byte into the owner's buffer
  /// (bytes that do not fit are dropped, as a full UART would), then deliver
  /// the event.
  static func serialInterrupt() {
    LocalAPIC.endOfInterrupt()
    while let byte = Serial.read() {
      guard let owner = serialOwner, owner.pointee.inputCount < 256 else { continue }
      owner.pointee.input[(owner.pointee.inputStart + owner.pointee.inputCount) % 256] = byte
      owner.pointee.inputCount += 1
    }
    if let owner = serialOwner, owner.pointee.inputCount > 0 {
      Events.deliver(owner, DeviceLine.serialInput.eventBit)
    }
  }

  /// `console_read`: bytes the env's bound serial line received, into a
  /// buffer it can write.
  static func consoleRead(_ env: EnvRef, _ buffer: UInt64, _ length: UInt64) throws(CallFailure) -> UInt64 {
    guard length <= KernelCall.consoleWriteLimit else { throw CallFailure(.badLength) }
    let range: UserRange
    do { range = try UserRange.check(start: buffer, length: length) } catch { throw CallFailure(error) }
    var page = range.firstPage
    for _ in 0..<range.pageCount {
      guard env.pointee.space.isUserAccessible(page, write: true) else { throw CallFailure(.badAddress) }
      page += UserSpace.pageSize
    }
    let n = min(Int(length), env.pointee.inputCount)
    let target = UnsafeMutablePointer<UInt8>(bitPattern: UInt(range.start))
    for i in 0..<n { target?[i] = env.pointee.input[(env.pointee.inputStart + i) % 256] }
    env.pointee.inputStart = (env.pointee.inputStart + n) % 256
    env.pointee.inputCount -= n
    return UInt64(n)
  }
}
