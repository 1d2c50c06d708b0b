// The `exo` command (`swift run exo ...`): builds the images, boots them in
// QEMU and runs the benchmarks; all of it lives in ExoHost.
import ExoHost
import Foundation

SignalForwarding.install()
exit(ExoCLI.run(Array(CommandLine.arguments.dropFirst())))
