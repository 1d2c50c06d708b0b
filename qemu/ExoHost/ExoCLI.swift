// The `exo` command's dispatcher: picks the subcommand, runs it from the
// package root, and turns failures into a message and an exit status.
import Foundation

public enum ExoCLI {
  public static let usage = """
    usage: exo list
           exo boot APP[:ARG] [APP[:ARG] ...] [--accel tcg|kvm|icount] [--gdb] [--timeout SECONDS] [--memory MiB] [--held N] [--build exo]
                    [--forward [udp:][APP:]HOSTPORT:GUESTPORT ...] [--inject INPORT:OUTPORT]
           exo bench [boot] [--runs N]
           exo bench vm
           exo bench net [--datagrams N] [--icount-datagrams N] [--megabytes N] [--http-seconds N] [--no-kvm]
           exo bench privileged [vm] [cpu] [--keep-trace]
           exo abi

      list    the app images in apps/ with their frames, slices and summary
      boot    build the kernel and the apps, boot them in QEMU (TCG unless --accel says otherwise),
              stream the serial console, and exit with the boot's verdict
                --gdb          start QEMU halted with its gdb stub on localhost:1234 (no timeout)
                --timeout S    count the boot as hung after S seconds (default 60)
                --memory MiB   guest RAM (default 256)
                --held N       the Nth app (2 or later) waits until an app before it calls env_start;
                               repeatable
                --forward [udp:][APP:]HOSTPORT:GUESTPORT
                               forward 127.0.0.1:HOSTPORT (tcp unless udp:) to a networked app's ip and
                               GUESTPORT; APP may be left out when the boot has one networked app; repeatable
                --inject IN:OUT
                               raw Ethernet frames sent as UDP datagrams to 127.0.0.1:IN join the guest's
                               network, and each frame on it is copied to 127.0.0.1:OUT (hostile-frame tests)
      bench   measure boot time under TCG, KVM and icount and the kernel's size;
              regenerates papers/evaluation-boot.md (--runs N boots per accelerator, default 10);
              `bench vm` runs vmbench under icount and KVM against Linux 6.1's figures and
              regenerates papers/evaluation-vm.md; `bench net` runs netbench under icount (the kernel's
              instructions per received frame with 2 and 64 filters, the libOS's per UDP echo) and, under
              TCG and KVM, udp-echo round trips, a tcp-echo stream and httpd requests/s (wrk, ab or a
              built-in client) from the host; regenerates papers/evaluation-net.md; `bench privileged`
              traces every instruction of vmbench and cpubench under icount and counts, per metric, the
              CR3 writes, invlpg, iretq, sysretq, syscall, fxsave/fxrstor and other privileged ones;
              regenerates papers/evaluation-privileged.md (about 2 minutes)
      abi     regenerate papers/kernel-calls.md from the kernel-call table
    """

  /// Runs `exo` with its arguments (without the program name) and returns its exit status.
  public static func run(_ arguments: [String]) -> Int32 {
    do {
      return try dispatch(arguments)
    } catch let failure as ExoFailure {
      if let detail = failure.detail { Output.error(detail) }
      Output.error(failure.description)
      if failure.showsUsage { Output.error(usage) }
      return failure.exitStatus
    } catch {
      Output.error("exo: \(error)")
      return ExitStatus.software
    }
  }

  static func dispatch(_ arguments: [String]) throws -> Int32 {
    guard let command = arguments.first else { throw ExoFailure.usage("name a command") }
    let rest = Array(arguments.dropFirst())
    switch command {
    case "help", "-h", "--help":
      Output.line(usage)
      return ExitStatus.ok
    case "list":
      guard rest.isEmpty else { throw ExoFailure.usage("list takes no arguments") }
      return try ListCommand.run(root: try PackageRoot.fromCurrentDirectory())
    case "boot":
      return try BootCommand.run(rest, root: try PackageRoot.fromCurrentDirectory())
    case "bench":
      return try BenchCommand.run(rest, root: try PackageRoot.fromCurrentDirectory())
    case "abi":
      guard rest.isEmpty else { throw ExoFailure.usage("abi takes no arguments") }
      return try writeKernelCallReference(root: try PackageRoot.fromCurrentDirectory())
    default:
      throw ExoFailure.usage("unknown command '\(command)'")
    }
  }

  static func writeKernelCallReference(root: URL) throws -> Int32 {
    let file = root.appendingPathComponent(KernelCallReference.path)
    try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
    try KernelCallReference.markdown().write(to: file, atomically: true, encoding: .utf8)
    Output.line("exo: wrote \(KernelCallReference.path)")
    return ExitStatus.ok
  }
}
