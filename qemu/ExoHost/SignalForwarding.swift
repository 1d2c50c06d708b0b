// Takes QEMU down with exo: a stopped exo kills the QEMU it started, which
// would otherwise live on as an orphan (halted forever under --gdb).
import Foundation
import Synchronization

public enum SignalForwarding {
  /// The QEMU being run, 0 when none.
  static let child = Atomic<Int32>(0)

  /// For the `exo` command only: a test process keeps its own signal handling.
  public static func install() {
    for number in [SIGINT, SIGTERM, SIGHUP] {
      // Only async-signal-safe work here: an atomic load, kill, _exit.
      signal(number) { number in
        let pid = SignalForwarding.child.load(ordering: .acquiring)
        if pid > 0 { kill(pid, SIGKILL) }
        _exit(128 + number)
      }
    }
  }
}
