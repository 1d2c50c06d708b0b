// Runs QEMU once: streams each serial line to the caller as it arrives (with
// the time since launch), enforces the timeout, stops QEMU when another thread
// asks (a test done with a server app), and reports how QEMU ended.
import Foundation
import Synchronization

/// Asks a running QemuSession, from another thread, to stop its QEMU: a boot
/// of a server app has no end of its own. QEMU then ends as `.stopped`.
public final class QemuStop: Sendable {
  private let requested = Atomic<Bool>(false)

  public init() {}

  public func request() { requested.store(true, ordering: .releasing) }
  public var isRequested: Bool { requested.load(ordering: .acquiring) }
}

/// One line of the guest's serial console.
public struct SerialLine: Sendable {
  public let text: String
  /// From QEMU's launch to the moment exo read the line.
  public let elapsed: Duration
}

/// What a QEMU run left behind.
public struct QemuRun: Sendable {
  public let lines: [String]
  public let end: QemuEnd
  /// Everything QEMU wrote to its stderr.
  public let stderr: String
}

public enum QemuSession {
  /// Grace between SIGTERM and SIGKILL for a hung QEMU.
  static let killGrace: Duration = .seconds(2)

  /// Runs `machine` in `root` (where its relative paths point). `timeout` nil
  /// waits forever. Throws when QEMU cannot start (70), not when the guest fails.
  /// `relayInput` copies this process's own stdin (a terminal, a pipe) to
  /// the guest's serial input as it arrives.
  public static func run(
    _ machine: QemuMachine, qemu: URL, in root: URL, timeout: Double?, input: String? = nil, relayInput: Bool = false,
    stop: QemuStop? = nil, onLine: (SerialLine) -> Void = { _ in }, onStderr: (String) -> Void = { _ in }
  ) throws -> QemuRun {
    let process = Process()
    process.executableURL = qemu
    process.arguments = try machine.arguments()
    process.currentDirectoryURL = root
    // The guest's serial input is QEMU's stdin: a test types `input` (written
    // once QEMU runs, then closed); `exo boot` relays its own stdin through
    // a pipe, since QEMU given the terminal itself reads nothing when
    // Foundation's Process starts it; under --gdb QEMU keeps the terminal;
    // otherwise it stays closed.
    let typed = input != nil || (relayInput && !machine.gdb) ? Pipe() : nil
    if let typed {
      process.standardInput = typed
    } else if !machine.gdb {
      process.standardInput = FileHandle.nullDevice
    }
    var relay: InputRelay? = nil
    if input == nil, let typed { relay = InputRelay(to: typed.fileHandleForWriting) }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err

    let clock = ContinuousClock()
    let start = clock.now
    do {
      try process.run()
    } catch {
      throw ExoFailure("QEMU failed to start: \(error.localizedDescription)", exitStatus: ExitStatus.software)
    }
    if let typed, let input {
      typed.fileHandleForWriting.write(Data(input.utf8))
      try? typed.fileHandleForWriting.close()
    }
    SignalForwarding.child.store(process.processIdentifier, ordering: .releasing)
    defer { SignalForwarding.child.store(0, ordering: .releasing) }

    var serial = LineSplitter()
    var errors = LineSplitter()
    var lines: [String] = []
    var stderrText = ""
    // QEMU's stderr before the guest's first line is held back: if QEMU
    // fails to start, it is said once, in the failure.
    var heldStderr: [String] = []
    func forwardStderr(_ line: String) {
      if lines.isEmpty { heldStderr.append(line) } else { onStderr(line) }
    }
    let deadline = timeout.map { start + .milliseconds(Int64(($0 * 1000).rounded())) }
    var timedOut = false
    var stopped = false
    var streams = [out.fileHandleForReading.fileDescriptor, err.fileHandleForReading.fileDescriptor]

    while !streams.isEmpty {
      if let deadline, clock.now >= deadline, !timedOut, !stopped {
        timedOut = true
        Self.stop(process)
      }
      // Only a QEMU that still runs is stopped: one that ended by itself keeps its own end.
      if let stop, stop.isRequested, !timedOut, !stopped, process.isRunning {
        stopped = true
        Self.stop(process)
      }
      let wait = deadline.map { max(0, min(100, milliseconds($0 - clock.now))) } ?? 100
      var fds = (streams + (relay?.isOpen == true ? [InputRelay.source] : [])).map {
        pollfd(fd: $0, events: Int16(POLLIN), revents: 0)
      }
      let ready = poll(&fds, nfds_t(fds.count), Int32(wait))
      if ready < 0 && errno == EINTR { continue }
      if ready <= 0 {
        // Nothing to read: finished if QEMU is gone (its pipes may outlive it
        // in a grandchild, so EOF alone is not awaited).
        if !process.isRunning { break }
        continue
      }
      for pollFd in fds where pollFd.revents != 0 {
        if pollFd.fd == InputRelay.source {
          relay?.pass(readChunk(pollFd.fd))
          continue
        }
        let chunk = readChunk(pollFd.fd)
        if chunk.isEmpty {
          streams.removeAll { $0 == pollFd.fd }
          continue
        }
        if pollFd.fd == out.fileHandleForReading.fileDescriptor {
          let now = clock.now - start
          for line in serial.feed(chunk) {
            if lines.isEmpty {
              heldStderr.forEach(onStderr)
              heldStderr.removeAll()
            }
            lines.append(line)
            onLine(SerialLine(text: line, elapsed: now))
          }
        } else {
          for line in errors.feed(chunk) {
            stderrText += line + "\n"
            // After a timeout QEMU only says that exo killed it.
            if !timedOut && !stopped { forwardStderr(line) }
          }
        }
      }
    }
    if let line = serial.rest() {
      lines.append(line)
      onLine(SerialLine(text: line, elapsed: clock.now - start))
    }
    if let line = errors.rest() {
      stderrText += line + "\n"
      if !timedOut && !stopped { forwardStderr(line) }
    }
    relay?.close()
    process.waitUntilExit()

    let end: QemuEnd
    if timedOut {
      end = .timedOut(seconds: timeout ?? 0)
    } else if stopped {
      end = .stopped
    } else if process.terminationReason == .uncaughtSignal {
      end = .signalled(process.terminationStatus)
    } else {
      end = .exited(status: process.terminationStatus)
    }
    // QEMU reports bad options, missing files and an unusable accelerator on
    // stderr and exits 1 before the guest prints anything.
    if end == .exited(status: 1), lines.isEmpty, !stderrText.isEmpty {
      throw ExoFailure(
        "QEMU failed to start: \(stderrText.trimmingCharacters(in: .whitespacesAndNewlines))",
        exitStatus: ExitStatus.software)
    }
    if lines.isEmpty { heldStderr.forEach(onStderr) }
    return QemuRun(lines: lines, end: end, stderr: stderrText)
  }

  /// SIGTERM, then SIGKILL if QEMU is still there after the grace period.
  static func stop(_ process: Process) {
    guard process.isRunning else { return }
    let pid = process.processIdentifier
    kill(pid, SIGTERM)
    let clock = ContinuousClock()
    let giveUp = clock.now + killGrace
    while process.isRunning && clock.now < giveUp { usleep(20_000) }
    if process.isRunning { kill(pid, SIGKILL) }
  }

  static func readChunk(_ fd: Int32) -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if count < 0 && errno == EINTR { continue }
      return count > 0 ? Array(buffer[..<count]) : []
    }
  }

  static func milliseconds(_ duration: Duration) -> Int {
    let (seconds, attoseconds) = duration.components
    return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
  }
}

/// Copies exo's stdin to QEMU's: each chunk as it is read (a terminal in
/// line mode hands over each line as Enter is pressed); end of input closes
/// QEMU's side. A QEMU that has gone away makes the copy stop, not exo.
struct InputRelay {
  static let source: Int32 = STDIN_FILENO
  private let target: FileHandle
  private(set) var isOpen = true

  init(to target: FileHandle) {
    self.target = target
    signal(SIGPIPE, SIG_IGN)  // a write to a closed pipe then fails with EPIPE
  }

  mutating func pass(_ bytes: [UInt8]) {
    guard isOpen else { return }
    guard !bytes.isEmpty else { return close() }
    var offset = 0
    while offset < bytes.count {
      let written = bytes[offset...].withUnsafeBytes { write(target.fileDescriptor, $0.baseAddress, $0.count) }
      if written < 0 && errno == EINTR { continue }
      guard written > 0 else { return close() }
      offset += written
    }
  }

  mutating func close() {
    guard isOpen else { return }
    isOpen = false
    try? target.close()
  }
}

/// Cuts a byte stream into lines; a carriage return before the newline is dropped.
struct LineSplitter {
  private var pending: [UInt8] = []

  mutating func feed(_ bytes: [UInt8]) -> [String] {
    var lines: [String] = []
    for byte in bytes {
      if byte == UInt8(ascii: "\n") {
        if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
        lines.append(String(decoding: pending, as: UTF8.self))
        pending.removeAll(keepingCapacity: true)
      } else {
        pending.append(byte)
      }
    }
    return lines
  }

  /// A last line without a newline, if any.
  mutating func rest() -> String? {
    defer { pending.removeAll() }
    return pending.isEmpty ? nil : String(decoding: pending, as: UTF8.self)
  }
}
