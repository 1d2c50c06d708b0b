// A boot that `exo bench net` runs in the background while host clients
// drive its app: start it, wait for the app's line that says it listens,
// then wait for its end (or stop it). Every wait has a deadline, so a guest
// that does not answer costs a timeout, never a hang.
import Foundation

final class NetBenchBoot: @unchecked Sendable {
  let plan: BootPlan
  private let condition = NSCondition()
  private var collected: [String] = []
  private var outcome: Result<BootResult, any Error>?
  private let stopper = QemuStop()

  /// Boots `plan` (its images already built) on a thread of its own, killed after `timeout` seconds.
  init(_ plan: BootPlan, qemu: URL, timeout: Double) {
    self.plan = plan
    let thread = Thread { [self] in
      let result = Result { try plan.boot(qemu: qemu, timeout: timeout, stop: stopper, onLine: { self.append($0.text) }) }
      condition.lock()
      outcome = result
      condition.broadcast()
      condition.unlock()
    }
    thread.start()
  }

  private func append(_ line: String) {
    condition.lock()
    collected.append(line)
    condition.broadcast()
    condition.unlock()
  }

  /// The host port forwarded to `guestPort`.
  func hostPort(_ guestPort: Int, _ transport: TransportProtocol) -> Int? {
    plan.machine.network?.forwards.first { $0.guestPort == guestPort && $0.transport == transport }?.hostPort
  }

  /// The first line containing `text`, or nil once the boot ended or `timeout` seconds passed.
  func waitForLine(containing text: String, timeout: Double) -> String? {
    let deadline = Date(timeIntervalSinceNow: timeout)
    condition.lock()
    defer { condition.unlock() }
    var seen = 0
    while true {
      while seen < collected.count {
        if collected[seen].contains(text) { return collected[seen] }
        seen += 1
      }
      if outcome != nil || !condition.wait(until: deadline) { return nil }
    }
  }

  /// Waits up to `timeout` seconds for the boot to end by itself, then stops QEMU.
  func finish(timeout: Double) -> Result<BootResult, any Error> {
    let deadline = Date(timeIntervalSinceNow: timeout)
    condition.lock()
    defer { condition.unlock() }
    while outcome == nil {
      if !condition.wait(until: deadline) {
        stopper.request()
        _ = condition.wait(until: Date(timeIntervalSinceNow: 30))
      }
    }
    return outcome!
  }

  var lines: [String] {
    condition.lock()
    defer { condition.unlock() }
    return collected
  }
}
