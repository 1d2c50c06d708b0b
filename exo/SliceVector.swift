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

  /// TSC at which the running slice ends, and at which the APIC timer is
  /// set to interrupt: the slice's end or an env timer's deadline, whichever
  /// comes first (exo/Timers.swift).
  nonisolated(unsafe) private static var sliceEnd: UInt64 = 0
  nonisolated(unsafe) private static var programmedFor: UInt64 = 0
  /// Whether the latest timer interrupt began a slice (rather than serving
  /// an env timer's deadline inside one).
  nonisolated(unsafe) private(set) static var sliceBegan = false

  static var tscPerSlice: UInt64 { LocalAPIC.tscPerMillisecond * sliceMicroseconds / 1000 }

  /// Called on every way back to an env: a new turn starts with a full
  /// allowance, and the timer counts a fresh slice unless one is running;
  /// a timer armed meanwhile for an earlier deadline moves the interrupt.
  static func arm(for env: UnsafeMutablePointer<Env>) {
    if armedFor == env.pointee.id {
      if Timers.earliest < programmedFor { program(until: sliceEnd) }
      return
    }
    if lastEnv != env.pointee.id { env.pointee.slicesLeft = env.pointee.slices }
    sliceEnd = Machine.tsc() &+ tscPerSlice
    program(until: sliceEnd)
    armedFor = env.pointee.id
    lastEnv = env.pointee.id
  }

  /// An env timer was armed: if it comes before the interrupt the APIC
  /// waits for, the interrupt moves to it.
  static func deadlineArmed() {
    if armedFor != nil && Timers.earliest < programmedFor { program(until: sliceEnd) }
  }

  /// Sets the APIC to interrupt at `end` or at the earliest env timer.
  private static func program(until end: UInt64) {
    let now = Machine.tsc()
    let target = min(end, Timers.earliest)
    programmedFor = target
    let delta = target > now ? min(target - now, tscPerSlice) : 0
    let ticks = delta * UInt64(LocalAPIC.ticksPerMillisecond) / max(LocalAPIC.tscPerMillisecond, 1)
    LocalAPIC.startOneShot(ticks: UInt32(truncatingIfNeeded: min(ticks, UInt64(UInt32.max))))
  }

  /// The timer interrupted `env`'s turn: env timers that passed deliver
  /// their events; if the slice is not over (the interrupt was for a
  /// deadline) the env goes on in it; else the env goes on if its turn has
  /// slices left, or the next env's turn begins.
  static func expired(_ env: UnsafeMutablePointer<Env>) -> AfterTrap {
    LocalAPIC.endOfInterrupt()
    Timers.fireDue()
    // The APIC and TSC rates agree to the calibration's precision: an
    // interrupt within 1/64 of a slice of its end is the end.
    if armedFor != nil, Machine.tsc() &+ tscPerSlice / 64 < sliceEnd {
      sliceBegan = false
      program(until: sliceEnd)
      return .resume
    }
    sliceBegan = true
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
    program(until: Machine.tsc() &+ tscPerSlice)
    idling = true
    Machine.idle()
    idling = false
  }

  /// `yield`: the rest of the turn goes to the next env.
  static func yielded() { armedFor = nil; lastEnv = nil }
}
