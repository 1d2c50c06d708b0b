// Time slices: the APIC timer ends each slice, and an env holds the CPU for
// as many consecutive slices as its boot configuration gives it, then the
// next runnable env (in id order) takes its turn. This is the kernel's only
// scheduling: which of its threads an env runs in its slices is the libOS's
// choice. An env that never yields loses only its own slices.
import SecureBindings

enum SliceVector {
  /// One slice, in microseconds of the calibrated APIC timer.
  static let sliceMicroseconds: UInt64 = 1000

  /// The env whose slice the timer is counting now, if any.
  nonisolated(unsafe) private static var armedFor: EnvID? = nil
  /// The env that had the CPU last, whose turn may still be going on.
  nonisolated(unsafe) private static var lastEnv: EnvID? = nil

  static var ticksPerSlice: UInt32 {
    UInt32(truncatingIfNeeded: min(UInt64(LocalAPIC.ticksPerMillisecond) * sliceMicroseconds / 1000, UInt64(UInt32.max)))
  }

  /// Called on every way back to an env: a new turn starts with a full
  /// allowance, and the timer counts a fresh slice unless one is running.
  static func arm(for env: UnsafeMutablePointer<Env>) {
    guard armedFor != env.pointee.id else { return }
    if lastEnv != env.pointee.id { env.pointee.slicesLeft = env.pointee.slices }
    LocalAPIC.startOneShot(ticks: ticksPerSlice)
    armedFor = env.pointee.id
    lastEnv = env.pointee.id
  }

  /// The timer ended a slice of `env`: the env goes on if its turn has
  /// slices left, else the next env's turn begins.
  static func expired(_ env: UnsafeMutablePointer<Env>) -> AfterTrap {
    LocalAPIC.endOfInterrupt()
    armedFor = nil
    Events.wakeExpired()
    if env.pointee.slicesLeft > 1 {
      env.pointee.slicesLeft -= 1
      return .resume
    }
    return .yield
  }

  /// True while the CPU halts with nothing to run: the tick that ends the
  /// halt is taken in ring 0 and is no fault.
  nonisolated(unsafe) private(set) static var idling = false

  /// One slice of halting, for when every live env is blocked.
  static func idleTick() {
    armedFor = nil
    lastEnv = nil
    LocalAPIC.startOneShot(ticks: ticksPerSlice)
    idling = true
    Machine.idle()
    idling = false
  }

  /// `yield`: the rest of the turn goes to the next env.
  static func yielded() { armedFor = nil; lastEnv = nil }
}
