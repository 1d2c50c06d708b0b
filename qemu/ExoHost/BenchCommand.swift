// `exo bench [boot] [--runs N]`, `exo bench vm`, `exo bench net` and `exo
// bench privileged`: runs a
// benchmark, prints its table and JSON lines, and regenerates its page in papers/.
import Foundation

public enum BenchCommand {
  public static let defaultRuns = 10

  /// `arguments` follow the word `bench`; returns the number of runs.
  public static func parse(_ arguments: [String]) throws -> Int {
    var remaining = arguments[...]
    if remaining.first == "boot" { remaining = remaining.dropFirst() }
    var runs = defaultRuns
    while let argument = remaining.popFirst() {
      let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts[0] == "--runs" else {
        throw ExoFailure.usage(
          argument.hasPrefix("-")
            ? "unknown option '\(argument)'" : "unknown benchmark '\(argument)'; the benchmarks are: boot, vm, net, privileged")
      }
      guard let text = parts.count > 1 ? parts[1] : remaining.popFirst(), let count = Int(text),
        (1...1000).contains(count)
      else { throw ExoFailure.usage("--runs needs a whole number in 1...1000") }
      runs = count
    }
    return runs
  }

  public static func run(_ arguments: [String], root: URL) throws -> Int32 {
    if arguments.first == "vm" { return try VMBenchmark.command(Array(arguments.dropFirst()), root: root) }
    if arguments.first == "privileged" {
      return try PrivilegedBenchmark.command(Array(arguments.dropFirst()), root: root)
    }
    if arguments.first == "net" { return try NetBenchmark.command(Array(arguments.dropFirst()), root: root) }
    let runs = try parse(arguments)
    let result = try BootBenchmark.run(root: root, runs: runs)
    for line in BenchReport.table(result) + [""] + BenchReport.jsonLines(result) { Output.line(line) }
    try BenchReport.write(result, root: root)
    Output.error("exo: wrote \(BenchReport.paper)")
    return ExitStatus.ok
  }
}
