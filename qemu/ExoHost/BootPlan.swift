// One boot as the library runs it: the app modules in their slots, their
// network, and the QEMU machine that loads them, run to a verdict
// (ImageBuilder builds the images first).
import Foundation

public struct BootPlan: Sendable {
  public let root: URL
  public let modules: [BootModule]
  public let machine: QemuMachine

  /// Every check (manifests, addresses, forwards) happens here, before anything is built.
  public init(
    root: URL, catalog: AppCatalog, apps: [AppChoice], accel: Accel = .tcg, memoryMiB: Int = 256, gdb: Bool = false,
    network: NetworkOptions = NetworkOptions()
  ) throws {
    self.root = root
    self.modules = try BootModule.modules(for: apps, catalog: catalog)
    self.machine = QemuMachine(
      accel: accel, memoryMiB: memoryMiB, gdb: gdb, bootModules: modules,
      network: try BootNetwork.qemu(for: modules, options: network))
  }

  /// What the boot's network is, one line each, for its header.
  public var networkLines: [String] { BootNetwork.headerLines(modules: modules, network: machine.network) }

  /// `hello, fault:null`
  public var appLabels: String {
    modules.map { module in module.arg.map { "\(module.manifest.name):\($0)" } ?? module.manifest.name }
      .joined(separator: ", ")
  }

  public var gdbCommand: String {
    GdbCommand.line(
      kernel: root.appendingPathComponent(machine.kernelPath).path,
      apps: modules.map { root.appendingPathComponent($0.imagePath).path })
  }

  /// Boots the built images; `timeout` nil waits forever. `relayInput`:
  /// this process's stdin goes to the serial console (QemuSession.run).
  public func boot(
    qemu: URL, timeout: Double?, input: String? = nil, relayInput: Bool = false, stop: QemuStop? = nil,
    onLine: (SerialLine) -> Void = { _ in }, onStderr: (String) -> Void = { _ in }
  ) throws -> BootResult {
    let run = try QemuSession.run(
      machine, qemu: qemu, in: root, timeout: timeout, input: input, relayInput: relayInput, stop: stop, onLine: onLine,
      onStderr: onStderr)
    return BootResult(run: run, verdict: BootVerdict.judge(lines: run.lines, end: run.end))
  }
}

public struct BootResult: Sendable {
  public let run: QemuRun
  public let verdict: BootVerdict
  public var lines: [String] { run.lines }
}
