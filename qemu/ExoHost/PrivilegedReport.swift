// `exo bench privileged`'s output: a table per benchmark, a JSON line each,
// and papers/evaluation-privileged.md.
import Foundation

public enum PrivilegedReport {
  /// The kinds that get their own column; the rest are summed in "other", named beside it.
  static let columns: [(String, [InstructionKind])] = [
    ("CR3 writes", [.cr3Write]), ("invlpg", [.invlpg]), ("iretq", [.iretq]), ("sysretq", [.sysretq]),
    ("syscall", [.syscall]), ("fxsave/fxrstor", [.fxsave, .fxrstor]),
  ]
  static let others: [InstructionKind] = [.swapgs, .crRead, .wrmsr, .rdmsr, .cli, .sti, .hlt, .portIO, .otherPrivileged]

  /// "swapgs 2, cli 1", or "0".
  static func otherText(_ sample: TracedSample) -> String {
    let parts = others.compactMap { kind in sample.count(kind) > 0 ? "\(kind.rawValue) \(sample.count(kind))" : nil }
    return parts.isEmpty ? "0" : parts.joined(separator: ", ")
  }

  public static func tableLines(_ run: PrivilegedRun) -> [String] {
    var lines = [
      "\(run.bench): one timed sample per metric (the median of \(run.bench)'s samples by instructions), traced under icount",
      "| metric | instructions (trace) | icount median (app) | " + columns.map(\.0).joined(separator: " | ")
        + " | other privileged |",
      "|---|---:|---:|" + String(repeating: "---:|", count: columns.count) + "---|",
    ]
    for metric in run.metrics {
      let app = run.line.metric(metric.name).map { "\($0.median)" } ?? "-"
      guard let sample = metric.median else {
        lines.append("| `\(metric.name)` | not found in the trace | \(app) |" + String(repeating: " - |", count: columns.count) + " - |")
        continue
      }
      let cells = columns.map { _, kinds in "\(kinds.map(sample.count).reduce(0, +))" }
      lines.append(
        "| `\(metric.name)` | \(sample.instructions) | \(app) | " + cells.joined(separator: " | ") + " | \(otherText(sample)) |")
    }
    return lines
  }

  /// What a row covers when it is not one `rdtsc` pair of the app's own
  /// (cpubench's event latency), or more than the app's figure (vmbench's
  /// appel2, whose app divides a 100-page run by 100).
  public static func notes(_ run: PrivilegedRun) -> [String] {
    var notes: [String] = []
    for metric in run.metrics {
      guard let sample = metric.median else { continue }
      if metric.how != "rdtsc pair" { notes.append("`\(metric.name)`: \(metric.how).") }
      if let app = run.line.metric(metric.name), app.median > 0, sample.instructions >= 10 * (app.median + 1) {
        let ratio = (Double(sample.instructions) / Double(app.median)).rounded()
        notes.append(
          "`\(metric.name)`: one sample covers about \(Int(ratio)) times what the app reports (the app divides "
            + "each sample by \(Int(ratio))); the counts are for the whole sample.")
      }
    }
    return notes
  }

  /// Exception dispatch per metric that takes an exception, in metric order.
  public static func dispatchLines(_ run: PrivilegedRun) -> [String] {
    let found = run.metrics.compactMap { metric in run.dispatch[metric.name].map { (metric.name, $0) } }
    guard !found.isEmpty else { return [] }
    var lines = [
      "\(run.bench): exception dispatch, from the faulting instruction (counted) to the first instruction of the upcall's target",
      "| metric | to the env's entry (kernel) | to the vector's handler (libOS entry too) |",
      "|---|---:|---:|",
    ]
    for (name, d) in found { lines.append("| `\(name)` | \(d.toEntry) | \(d.toHandler.map(String.init) ?? "-") |") }
    return lines
  }

  public static func tables(_ runs: [PrivilegedRun]) -> [String] {
    runs.flatMap { run in
      let dispatch = dispatchLines(run)
      return tableLines(run) + notes(run) + [""] + (dispatch.isEmpty ? [] : dispatch + [""])
    }
  }

  /// `{"bench": "privileged", "of": "vmbench", "results": {METRIC: {"instructions": N, "icount_median": N, "cr3_write": N, ...}}}`
  public static func jsonLine(_ run: PrivilegedRun) -> String {
    var fields: [String] = []
    for metric in run.metrics {
      guard let sample = metric.median else {
        fields.append("\"\(metric.name)\": null")
        continue
      }
      var parts = ["\"instructions\": \(sample.instructions)"]
      if let app = run.line.metric(metric.name) { parts.append("\"icount_median\": \(app.median)") }
      parts.append("\"samples\": \(metric.samples.count)")
      let all = metric.samples.map(\.instructions)
      parts.append("\"instructions_min\": \(all.min() ?? 0), \"instructions_max\": \(all.max() ?? 0)")
      for kind in InstructionKind.allCases where kind != .rdtsc { parts.append("\"\(kind.rawValue)\": \(sample.count(kind))") }
      parts.append("\"unknown_pc\": \(sample.unknown)")
      if let d = run.dispatch[metric.name] {
        parts.append("\"dispatch_to_entry\": \(d.toEntry)")
        if let h = d.toHandler { parts.append("\"dispatch_to_handler\": \(h)") }
      }
      fields.append("\"\(metric.name)\": {" + parts.joined(separator: ", ") + "}")
    }
    return "{\"bench\": \"privileged\", \"of\": \"\(run.bench)\", \"results\": {" + fields.joined(separator: ", ") + "}}"
  }

  public static func paper(_ runs: [PrivilegedRun], date: Date) -> String {
    let day = ISO8601DateFormatter.string(from: date, timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate])
    var text = """
      # Privileged instructions on each benchmark path

      Regenerated by `swift run exo bench privileged` on \(day). Under icount every guest instruction counts one,
      so the figures in [evaluation-vm.md](evaluation-vm.md) and [evaluation-cpu.md](evaluation-cpu.md) are path
      lengths; on hardware a CR3 write, an `invlpg`, a mode switch (`syscall`, `sysretq`, `iretq`) or an FP save
      (`fxsave`/`fxrstor`) costs far more than an add. This page says how many of each every path runs, measured,
      not read off the source.

      **How.** The command boots `vmbench:icount-trace` and `cpubench:icount-trace pct:server` under TCG with
      `-icount shift=0,align=off,sleep=off`, one instruction per translation block (`-singlestep`, QEMU 7.2's
      spelling) and QEMU's exec log (`-d exec,nochain -D LOG`), which then holds every executed guest address in
      order. `-trace` makes the apps run each metric a few times only (vmbench 50 or 5 samples, cpubench 20, the
      event latency 6) and pass through `exo_bench_trace_mark` at each metric's summary, which marks where a
      metric's samples end; the metrics' loops are unchanged. Addresses are mapped to instructions with
      `llvm-objdump -d` of the kernel ELF and the app ELFs. Inside a metric's stretch of the log a sample runs from
      the `rdtsc` of its start site to the next `rdtsc` of its end site (for `event_latency`, from the kernel's
      `rdtsc` stamp at the timer interrupt's entry to the handler's `rdtsc`; for `appel2`, one sample is the
      protection of 100 pages and the 100 faults that follow, the app's figure is per page). The sample shown is
      the median of the metric's samples by instruction count. Only the kernel and the app slots are logged
      (`-dfilter`: the firmware's millions of instructions before the kernel are not); the log is written to a
      temporary folder, read back in 4 MiB chunks (keeping running counts and the timing points, not the log)
      and deleted.

      **Columns.** *instructions (trace)*: instructions executed strictly between the two `rdtsc`s; *icount median
      (app)*: the figure the app printed in the same run (its `rdtsc` delta less an empty pair's 3). They differ by
      the calibration (3 less 1) and by each instruction that faulted (the log holds it twice, when it faults and
      when it runs again; icount counts it once). QEMU also logs an instruction it then does not run (a block
      stopped because a timer is due, an APIC access translated again): the line that says so takes it back.
      *other privileged*: `swapgs`, reads of control registers (`cr_read`: CR2 in the page-fault path),
      `wrmsr`, `rdmsr`, `cli`, `sti`, `hlt`, port I/O (`in`/`out`), other control-register, debug-register and
      descriptor-table instructions. A write to the local APIC's EOI register is an ordinary `mov` and is not
      counted. `unknown_pc` in the JSON counts executed addresses no ELF knows.

      **Exception dispatch** [Engler95: "exception dispatch in 18 instructions"]. For each metric whose median
      sample takes an exception that is upcalled to a handler, the trace is read from the instruction that faulted
      (the user instruction just before the first kernel instruction that is not SYSCALL's entry; counted once,
      as icount counts it) to the first instruction of the upcall's target (not counted): *to the env's entry* is
      the kernel's dispatch, up to the first instruction of the entry the env registered (libos-posix's
      `exo_exception_entry`); *to the vector's handler* adds the libOS's entry, up to the first instruction after
      its call to the vector's handler (the app's code). The JSON has them as `dispatch_to_entry` and
      `dispatch_to_handler`.


      """
    for run in runs {
      text += "## \(run.bench)\n\n```sh\n\(run.qemu)\n```\n\n"
      text += "\(run.traceLines) instructions traced in \(String(format: "%.0f", run.seconds)) s.\n\n"
      text += tableLines(run).dropFirst().joined(separator: "\n") + "\n\n"
      let notes = notes(run)
      if !notes.isEmpty { text += notes.map { "- \($0)" }.joined(separator: "\n") + "\n\n" }
      let dispatch = dispatchLines(run)
      if !dispatch.isEmpty {
        text += "Exception dispatch, from the faulting instruction (counted) to the first instruction of the upcall's target:\n\n"
        text += dispatch.dropFirst().joined(separator: "\n") + "\n\n"
      }
    }
    text += "The JSON lines:\n\n```\n" + runs.map(jsonLine).joined(separator: "\n") + "\n```\n"
    return text
  }
}
