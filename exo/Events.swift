// Events and sleeping: an env waits until another env signals it or a
// deadline passes, and a CPU with nothing to run halts (`hlt`) until the
// next timer tick instead of spinning. The kernel only records and delivers
// bits; what they mean is the envs' business.
import SecureBindings

enum Events {
  typealias EnvRef = UnsafeMutablePointer<Env>

  /// Halts taken while every live env was blocked (reported at the end).
  nonisolated(unsafe) private(set) static var halts: UInt64 = 0

  static func listen(_ env: EnvRef, _ senders: UInt64, _ flags: UInt64) throws(CallFailure) {
    guard flags & ~EventSlot.upcallFlag == 0 else { throw CallFailure(.badArgument) }
    env.pointee.eventSenders = senders
    env.pointee.eventUpcalls = flags & EventSlot.upcallFlag != 0
  }

  static func signal(_ env: EnvRef, _ target: UInt64, _ bits: UInt64) throws(CallFailure) {
    guard target >= 1, target <= UInt64(envTable.count), target != UInt64(env.pointee.id.raw) else {
      throw CallFailure(.noSuchEnv)
    }
    let other = envTable[EnvID(UInt16(target))]
    guard other.pointee.state == .runnable || other.pointee.state == .blocked else { throw CallFailure(.noSuchEnv) }
    guard other.pointee.eventSenders & (1 << UInt64(env.pointee.id.raw & 63)) != 0 else {
      throw CallFailure(.badCapability)
    }
    guard bits != 0 else { throw CallFailure(.badArgument) }
    deliver(other, bits, stamp: Machine.tsc())
  }

  /// Sets `bits` in the env's pending word and wakes it if it waits; with a
  /// shared page, counts the delivery there with its bits and `stamp` (the
  /// TSC of the interrupt behind it), and upcalls if the env asked to.
  /// Inlined: the timer's path to an event upcall is the event latency.
  @inline(__always)
  static func deliver(_ env: EnvRef, _ bits: UInt64, stamp: UInt64 = Machine.interruptTSC) {
    env.pointee.pendingEvents |= bits
    if env.pointee.state == .blocked { wake(env) }
    guard env.pointee.exceptionEntry != 0 else { return }
    let shared = Machine.physical(env.pointee.sharedFrame.physicalAddress)
    let count = shared.load(fromByteOffset: EventSlot.count, as: UInt64.self)
    shared.storeBytes(of: bits, toByteOffset: EventSlot.bits, as: UInt64.self)
    shared.storeBytes(of: stamp, toByteOffset: EventSlot.stamp, as: UInt64.self)
    shared.storeBytes(of: count &+ 1, toByteOffset: EventSlot.count, as: UInt64.self)
    if env.pointee.eventUpcalls { upcallMain(env, vector: EventSlot.delivery) }
  }

  /// `event_wait(timeout)`: takes pending events at once, or blocks the
  /// env; `.yield` ends its turn. A timeout of 0 waits for an event only.
  static func wait(_ env: EnvRef, _ timeoutMicroseconds: UInt64) throws(CallFailure) -> AfterTrap {
    guard !env.pointee.inActivation else { throw CallFailure(.busy) }
    if env.pointee.pendingEvents != 0 {
      env.pointee.registers.pointee.setResult(status: 0, value: env.pointee.pendingEvents)
      env.pointee.pendingEvents = 0
      return .resume
    }
    let ticks = timeoutMicroseconds > UInt64.max / LocalAPIC.tscPerMillisecond
      ? UInt64.max : timeoutMicroseconds * LocalAPIC.tscPerMillisecond / 1000
    let now = Machine.tsc()
    // Saturates: a timeout too far ahead to count is one that never passes.
    env.pointee.wakeAt = timeoutMicroseconds == 0 ? 0 : (ticks >= UInt64.max - now ? UInt64.max : now + max(ticks, 1))
    env.pointee.state = .blocked
    if env.pointee.wakeAt != 0 { Timers.timeoutSet(env.pointee.wakeAt) }
    env.pointee.registers.pointee.setResult(status: 0, value: 0)
    return .yield
  }

  private static func wake(_ env: EnvRef) {
    env.pointee.registers.pointee.setResult(status: 0, value: env.pointee.pendingEvents)
    env.pointee.pendingEvents = 0
    env.pointee.wakeAt = 0
    env.pointee.state = .runnable
  }

  /// Wakes every blocked env whose deadline has passed.
  static func wakeExpired() {
    let now = Machine.tsc()
    for i in 0..<envTable.count {
      let env = envTable.slots + i
      if env.pointee.state == .blocked && env.pointee.wakeAt != 0 && now >= env.pointee.wakeAt { wake(env) }
    }
  }

  /// Nothing can run: halt until a timer tick or a device wakes someone.
  /// Envs blocked with no deadline, no bound device and no live env left
  /// that may signal them would wait forever; they are ended with a report
  /// instead of hanging the boot. (An env waiting on a device, a server
  /// waiting for its next request, may wait as long as the user likes.)
  static func idle() -> UnsafeMutablePointer<Env>? {
    while true {
      var sleeper = false
      var waiter: EnvRef? = nil
      for i in 0..<envTable.count {
        let env = envTable.slots + i
        guard env.pointee.state == .blocked else { continue }
        if env.pointee.wakeAt != 0 || env.pointee.timers.isArmed || Devices.holdsLine(env)
          || env.pointee.ringFrameCount > 0
        {
          sleeper = true
        } else if waiter == nil {
          waiter = env
        }
      }
      if !sleeper {
        guard let stuck = waiter else { return nil }
        KernelLine().text("env ").env(stuck.pointee).text(" killed: waits for an event no live env can send").end()
        retire(stuck)
        if let next = envTable.next(after: stuck.pointee.id) { return envTable[next] }
        continue
      }
      halts &+= 1
      SliceVector.idleTick()
      Timers.fireDue()
      wakeExpired()
      if let next = envTable.next(after: EnvID(UInt16(Limits.maxEnvs))) { return envTable[next] }
    }
  }
}
