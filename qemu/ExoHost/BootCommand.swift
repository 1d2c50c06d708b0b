// `exo boot`: parse, say what runs, make sure QEMU is there, build, boot with
// every serial line streamed to stdout, and exit with the verdict's status.
import Foundation

public enum BootCommand {
  public static func run(_ arguments: [String], root: URL) throws -> Int32 {
    let catalog = try AppCatalog.load(root: root)
    let options = try BootOptions.parse(arguments, knownApps: catalog.names)
    let plan = try BootPlan(
      root: root, catalog: catalog, apps: options.apps, accel: options.accel, memoryMiB: options.memoryMiB,
      gdb: options.gdb, network: options.network)
    Output.line("exo: booting \(plan.appLabels) under \(options.accel.displayName) (\(try plan.machine.commandLine()))")
    plan.networkLines.forEach(Output.line)

    let qemu = try QemuInstaller.ensure()
    let builder = ImageBuilder(root: root, toolchain: try Toolchain.find())
    try builder.build(plan.modules)
    if options.gdb {
      Output.line("exo: QEMU is halted with its gdb stub on localhost:\(QemuMachine.gdbPort); attach with:")
      Output.line(plan.gdbCommand)
    }

    let result = try plan.boot(
      qemu: qemu, timeout: options.effectiveTimeout, relayInput: true, onLine: { Output.line($0.text) },
      onStderr: { Output.error("qemu: " + $0) })
    report(result.verdict)
    return result.verdict.exitStatus
  }

  static func report(_ verdict: BootVerdict) {
    guard verdict.isGood else {
      Output.error("exo: " + verdict.reason)
      if case .panic(let lines) = verdict.failure, lines.count > 1 {
        for line in lines { Output.error(line) }
      }
      return
    }
    Output.line("exo: " + verdict.reason)
    if let decider = verdict.envs.first(where: { $0.failureStatus != nil }), let status = decider.failureStatus {
      Output.error("exo: exit status \(status) from env \(decider.name):\(decider.id)")
    }
  }
}
