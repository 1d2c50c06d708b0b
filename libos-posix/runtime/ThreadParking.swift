// Threads waiting for something outside the env (a frame from the network):
// all but one park here, blocked in the thread library; the last thread
// that could run sleeps the whole env in `event_wait` instead, and when it
// wakes it unparks the others so that each can look again. So an env whose
// threads all wait costs no CPU, and one that still has work runs it.
import LibOSPosix
import UserArch

public enum ThreadParking {
  nonisolated(unsafe) private static var parked: [Int] = []

  /// Parks the calling thread until `unparkAll` and returns true, or
  /// returns false at once when no other thread could run (then the
  /// caller is the one to wait in the kernel).
  public static func park() -> Bool {
    ThreadCritical.enter()
    defer { ThreadCritical.leave() }
    guard Threads.othersReady else { return false }
    parked.append(Threads.table.current)
    Threads.block()
    return true
  }

  public static func unparkAll() {
    ThreadCritical.enter()
    defer { ThreadCritical.leave() }
    _ = wakeParked()
  }

  /// Inside the thread library, when no thread can run: wakes the parked
  /// threads (one of them then waits in the kernel); false if none was parked.
  static func wakeParked() -> Bool {
    guard !parked.isEmpty else { return false }
    for slot in parked { Threads.wake(slot) }
    parked.removeAll(keepingCapacity: true)
    return true
  }

  /// Whether some thread sleeps on a timer (a kernel wait must not outlast it for long).
  public static var anySleeping: Bool { Threads.table.sleepers > 0 }
}
