// `exo bench privileged` without QEMU: classifying objdump text, reading
// synthetic exec logs (hostile ones too: cut lines, unknown addresses, blocks
// QEMU logged but did not run, chunks cut anywhere), finding each metric's
// samples among the timing points, and the command's arguments.
import ExoHost
import Foundation
import XCTest

final class PrivilegedTraceTests: XCTestCase {
  // A kernel and an app, as `llvm-objdump -d --no-show-raw-insn` prints them.
  let kernelDump = """

    kernel.elf:\tfile format elf64-x86-64

    Disassembly of section .text:

    ffffffff80100000 <trap_common>:
    ffffffff80100000:      \tpushq\t%rax
    ffffffff80100001:      \trdtsc
    ffffffff80100003:      \tmovq\t%rax, %cr3
    ffffffff80100006:      \tinvlpg\t(%rdi)
    ffffffff80100009:      \tmovq\t%cr2, %rax
    ffffffff8010000c:      \tfxsave64\t(%rdi)
    ffffffff8010000f:      \tfxrstor64\t(%rdi)
    ffffffff80100012:      \tswapgs
    ffffffff80100015:      \toutb\t%al, %dx
    ffffffff80100016:      \tiretq
    ffffffff80100018:      \tsysretq
    ffffffff8010001b:      \twrmsr
    ffffffff8010001d:      \tmovq\t%cr3, %rax
    """
  let appDump = """
    0000000000400000 <_start>:
      400000:      \tsyscall
      400002:      \trdtsc
      400004:      \taddq\t$0x1, %rax
      400008:      \trdtsc
      40000a:      \tnop
    0000000000400010 <$e12LibOSRuntime20exo_bench_trace_markyyF>:
      400010:      \tretq
      400011:      \trdtsc
      400013:      \trdtsc
    """

  func map() -> InstructionMap {
    var map = InstructionMap()
    map.add(objdump: appDump)
    map.add(objdump: kernelDump)
    return map
  }

  func line(_ pc: UInt64) -> String {
    "Trace 0: 0x7f4f48000100 [0000000000000000/\(String(format: "%016llx", pc))/0040c290/ff020201] \n"
  }

  func scan(_ text: String, chunk: Int = 1 << 20) -> TraceScanner {
    var scanner = TraceScanner(map: map())
    let bytes = Array(text.utf8)
    var i = 0
    while i < bytes.count {
      scanner.feed(Array(bytes[i..<min(bytes.count, i + chunk)]))
      i += chunk
    }
    scanner.finish()
    return scanner
  }

  // MARK: objdump text

  func testClassifiesThePrivilegedInstructions() {
    let cases: [(String, InstructionKind?)] = [
      ("movq\t%rax, %cr3", .cr3Write), ("movq %cr3, %rax", .crRead), ("movq\t%cr2, %rax", .crRead), ("movq %dr7, %rax", .otherPrivileged),
      ("movq %rax, %cr4", .otherPrivileged), ("invlpg\t(%rdi)", .invlpg), ("iretq", .iretq), ("sysretq", .sysretq),
      ("syscall", .syscall), ("swapgs", .swapgs), ("fxsave64\t(%rdi)", .fxsave), ("fxrstor\t(%rax)", .fxrstor),
      ("xsave (%rdi)", .fxsave), ("xrstor64 (%rdi)", .fxrstor), ("wrmsr", .wrmsr), ("rdmsr", .rdmsr), ("cli", .cli),
      ("sti", .sti), ("hlt", .hlt), ("outb\t%al, %dx", .portIO), ("inb\t%dx, %al", .portIO),
      ("rep\t\toutsb\t(%rsi), %dx", .portIO), ("lgdtq\t(%rax)", .otherPrivileged), ("ltr %ax", .otherPrivileged),
      ("rdtsc", .rdtsc), ("movq\t%rax, %rbx", nil), ("movq\t0x10(%rip), %rax  # 0xffffffff80100000 <cr3>", nil),
      ("callq\t0x400010 <iretq_helper>", nil), ("", nil), ("nop", nil),
    ]
    for (text, kind) in cases { XCTAssertEqual(InstructionKind.classify(text), kind, text) }
  }

  func testReadsAddressesAndSymbolsAndSkipsWhatIsNotAnInstruction() {
    var map = InstructionMap()
    map.add(
      objdump: kernelDump
        + "\nffffffff8010001f:\n:\tnop\nzz:\tnop\n12345678901234567:\tnop\nffffffff80100020 <half\n  40:\t<unknown>\n"
        + "ffffffff80100030 <tick>:\n")
    XCTAssertEqual(map.kinds[0xffff_ffff_8010_0003], .some(.cr3Write))
    XCTAssertEqual(map.kinds[0xffff_ffff_8010_0000], .some(nil))
    XCTAssertNil(map.kinds[0xffff_ffff_8010_001f], "an address with no instruction")
    XCTAssertNil(map.kinds[0x40], "objdump's <unknown> is not an instruction")
    XCTAssertEqual(map.symbols["trap_common"], 0xffff_ffff_8010_0000)
    XCTAssertEqual(map.symbol(containing: "trap_common"), 0xffff_ffff_8010_0000)
    XCTAssertNil(map.symbol(containing: "nothing"))
    XCTAssertNil(map.symbol(containing: "t"), "several symbols contain it")
  }

  func testTheFirstImageNamingASymbolKeepsIt() {
    var map = InstructionMap()
    map.add(objdump: appDump)
    map.add(objdump: appDump.replacingOccurrences(of: "0000000000400010 <", with: "0000000004400010 <"))
    XCTAssertEqual(map.symbol(containing: "exo_bench_trace_mark"), 0x400010)
  }

  // MARK: the exec log

  func testCountsKindsAndRecordsTimingPoints() {
    let pcs: [UInt64] = [
      0x400000, 0xffff_ffff_8010_0003, 0xffff_ffff_8010_0006, 0xffff_ffff_8010_0018, 0x400002, 0x400004, 0x400008,
      0x400010,
    ]
    let scanner = scan(pcs.map(line).joined())
    XCTAssertEqual(scanner.position, 8)
    XCTAssertEqual(scanner.unknown, 0)
    XCTAssertEqual(scanner.points.map(\.what), [.returnToUser, .rdtsc, .rdtsc, .mark])
    XCTAssertEqual(scanner.points.map(\.position), [3, 4, 6, 7])
    let sample = TracedSample(from: scanner.points[1], to: scanner.points[2])
    XCTAssertEqual(sample.instructions, 1)
    let whole = TracedSample(from: TracePoint(what: .rdtsc, pc: 0, position: 0, counts: Array(repeating: 0, count: InstructionKind.allCases.count), unknown: 0), to: scanner.points[3])
    XCTAssertEqual(whole.count(.syscall), 1)
    XCTAssertEqual(whole.count(.cr3Write), 1)
    XCTAssertEqual(whole.count(.invlpg), 1)
    XCTAssertEqual(whole.count(.sysretq), 1)
  }

  func testHostileLinesAreCountedNotFatal() {
    let text =
      line(0x400002) + "Trace 0: 0x7f4f48000100 [0000000000000000/00000000004000\n"  // cut mid-address
      + "Trace 0: 0x7f4f48000100 [0000000000000000/zz/0/0]\n" + "Trace 0: 0x7f [/00000000000000000000/0/0]\n"
      + "Trace 0: garbage\n" + "random noise\n\n" + line(0x123456) + line(0x400003) + line(0x400008)
      + String(repeating: "x", count: 5000) + "\n" + "Trace 0: 0x7f4f48000100 [0000000000000000/0000000000400008"
    let scanner = scan(text)
    XCTAssertEqual(scanner.malformed, 5, "the cut line, a non-hex address, one too long, no brackets, the cut tail")
    XCTAssertEqual(scanner.position, 4)
    XCTAssertEqual(scanner.unknown, 2, "0x123456 is in no ELF, 0x400003 is inside an instruction")
    XCTAssertEqual(scanner.points.map(\.pc), [0x400002, 0x400008])
    XCTAssertEqual(TracedSample(from: scanner.points[0], to: scanner.points[1]).unknown, 2)
  }

  func testBlocksLoggedButNotRunAreTakenBack() {
    let text =
      line(0x400002) + line(0x400004) + "Stopped execution of TB chain before 0x7f4f48000100 [0000000000400004] \n"
      + line(0x400004) + line(0xffff_ffff_8010_0003)
      + "cpu_io_recompile: rewound execution of TB to ffffffff80100003\n" + line(0xffff_ffff_8010_0003)
      + "Stopped execution of TB chain before 0x7f [0000000000499999] \n"  // not the last line's: ignored
      + line(0x400008)
    let scanner = scan(text)
    XCTAssertEqual(scanner.retracted, 2)
    XCTAssertEqual(scanner.position, 4)
    let sample = TracedSample(from: scanner.points[0], to: scanner.points[1])
    XCTAssertEqual(sample.instructions, 2)
    XCTAssertEqual(sample.count(.cr3Write), 1)
  }

  func testARetractedTimingPointIsForgotten() {
    let text =
      line(0x400002) + "Stopped execution of TB chain before 0x7f4f48000100 [0000000000400002] \n" + line(0x400002)
      + line(0x400008)
    let scanner = scan(text)
    XCTAssertEqual(scanner.points.map(\.position), [0, 1])
  }

  func testChunksCutAnywhereReadTheSame() {
    var random = SplitMix64(seed: 0x5eed_0003)
    let pcs: [UInt64] = [0x400000, 0x400002, 0xffff_ffff_8010_0003, 0x400004, 0x400008, 0x400010, 0x999]
    var text = ""
    for _ in 0..<400 { text += line(random.pick(pcs)) }
    text += "Stopped execution of TB chain before 0x7f4f48000100 [0000000000400008] \n"
    let whole = scan(text)
    for _ in 0..<30 {
      let cut = scan(text, chunk: 1 + random.below(200))
      XCTAssertEqual(cut.position, whole.position)
      XCTAssertEqual(cut.unknown, whole.unknown)
      XCTAssertEqual(cut.points, whole.points)
      XCTAssertEqual(cut.retracted, whole.retracted)
    }
  }

  // MARK: samples

  /// Points at these pcs, in order, each `gap` instructions apart; kernel pcs are kernel rdtscs.
  func points(_ sequence: [(TracePoint.What, UInt64)], gap: UInt64 = 10) -> [TracePoint] {
    let zero = Array(repeating: UInt64(0), count: InstructionKind.allCases.count)
    return sequence.enumerated().map { i, item in
      var counts = zero
      counts[InstructionKind.allCases.firstIndex(of: .invlpg)!] = UInt64(i)  // one invlpg between points
      return TracePoint(what: item.0, pc: item.1, position: UInt64(i) * gap, counts: counts, unknown: 0)
    }
  }

  func testALoopsSamplesRunFromItsStartSiteToItsEndSite() {
    let calibrate: [(TracePoint.What, UInt64)] = [(.rdtsc, 0x100), (.rdtsc, 0x102), (.rdtsc, 0x100), (.rdtsc, 0x102)]
    let loop: [(TracePoint.What, UInt64)] = [
      (.rdtsc, 0x200), (.returnToUser, 0xffff_ffff_8000_0000), (.rdtsc, 0x204), (.rdtsc, 0xffff_ffff_8000_0010),
      (.rdtsc, 0x200), (.rdtsc, 0x204), (.rdtsc, 0x200), (.rdtsc, 0x204),
    ]
    let metrics = PrivilegedIntervals.metrics(
      points: points(calibrate + [(.mark, 0x300)] + loop + [(.mark, 0x300)]), names: ["null_call"])
    XCTAssertEqual(metrics.count, 1)
    XCTAssertEqual(metrics[0].samples.count, 3)
    XCTAssertEqual(metrics[0].samples.map(\.instructions), [19, 9, 9], "kernel rdtscs inside a sample do not end it")
    XCTAssertEqual(metrics[0].samples.first?.count(.invlpg), 2)
    XCTAssertEqual(metrics[0].median?.instructions, 9)
  }

  func testThreadSwitchSamplesStartAtTheLastStartBeforeTheirEnd() {
    // Thread A stamps (0x10), yields; B stamps (0x10), yields; A's end (0x14); ...
    let body: [(TracePoint.What, UInt64)] = [
      (.rdtsc, 0x10), (.rdtsc, 0x10), (.rdtsc, 0x14), (.rdtsc, 0x10), (.rdtsc, 0x14), (.rdtsc, 0x10), (.rdtsc, 0x14),
    ]
    let metrics = PrivilegedIntervals.metrics(
      points: points([(.mark, 1)] + body + [(.mark, 1)]), names: ["thread_switch"])
    XCTAssertEqual(metrics[0].samples.map(\.instructions), [9, 9, 9])
  }

  func testTwoMetricsWhoseSummariesComeTogetherSplitOnePhase() {
    let calls: [(TracePoint.What, UInt64)] = [(.rdtsc, 0x20), (.rdtsc, 0x24), (.rdtsc, 0x20), (.rdtsc, 0x24)]
    let sends: [(TracePoint.What, UInt64)] = [(.rdtsc, 0x30), (.rdtsc, 0x34), (.rdtsc, 0x30), (.rdtsc, 0x34)]
    let metrics = PrivilegedIntervals.metrics(
      points: points([(.mark, 1)] + calls + sends + [(.mark, 1), (.mark, 1)]),
      names: ["pct_round_trip", "pct_send_round_trip"])
    XCTAssertEqual(metrics.map(\.samples.count), [2, 2])
    XCTAssertEqual(metrics[0].samples.first?.instructions, 9)
    XCTAssertEqual(metrics[1].samples.first?.instructions, 9)
    XCTAssertEqual(metrics[1].median?.count(.invlpg), 1)
  }

  func testAnInterruptsSampleStartsAtTheStampOfTheVisitThatUpcalled() {
    let kernelStamp: UInt64 = 0xffff_ffff_8000_0c35
    let other: UInt64 = 0xffff_ffff_8000_0fb1
    let iret: UInt64 = 0xffff_ffff_8000_0100
    let handler: UInt64 = 0x1604
    let sequence: [(TracePoint.What, UInt64)] = [
      (.mark, 1), (.rdtsc, 0xd58),  // the deadline
      (.rdtsc, other), (.returnToUser, iret), (.rdtsc, handler),  // first upcall, after arming: left out
      (.rdtsc, kernelStamp), (.rdtsc, other), (.returnToUser, iret),  // a slice's end: no upcall
      (.rdtsc, kernelStamp), (.rdtsc, other), (.returnToUser, iret), (.rdtsc, handler),
      (.rdtsc, kernelStamp), (.returnToUser, iret), (.rdtsc, handler), (.mark, 1),
    ]
    let metrics = PrivilegedIntervals.metrics(points: points(sequence), names: ["event_latency"])
    XCTAssertEqual(metrics[0].how, "kernel entry rdtsc to handler rdtsc")
    XCTAssertEqual(metrics[0].samples.map(\.instructions), [29, 19])
  }

  // MARK: exception dispatch

  /// A fault at 0x400104, the kernel's stub and fast path, IRETQ to the
  /// libOS's entry, its call to the handler, the handler; a SYSCALL in
  /// between is no exception.
  func testDispatchRunsFromTheFaultingInstructionToTheEntryAndTheHandler() {
    var map = InstructionMap()
    map.add(objdump: """
      0000000000400100 <bench>:
        400100:      \trdtsc
        400102:      \tsyscall
        400104:      \tmovq\t%rax, (%rdi)
        400107:      \trdtsc
      0000000000400200 <exo_exception_entry>:
        400200:      \tmovq\t%rdx, 0x50(%rdi)
        400204:      \tcallq\t*(%rcx,%rax,8)
        400207:      \tcallq\t0x400300
      0000000000400300 <handler>:
        400300:      \tretq
      ffffffff80100000 <syscall_entry>:
      ffffffff80100000:      \tsysretq
      ffffffff80100100 <exception_common>:
      ffffffff80100100:      \tpushq\t%rax
      ffffffff80100101:      \tmovq\t%cr2, %rdi
      ffffffff80100104:      \tiretq
      """)
    XCTAssertEqual(map.handlerCallSites, [0x400204], "only indirect calls inside exo_exception_entry")
    let pcs: [UInt64] = [
      0x400100, 0x400102, 0xffff_ffff_8010_0000, 0x400104,  // rdtsc, a SYSCALL and its return: no exception
      0xffff_ffff_8010_0100, 0xffff_ffff_8010_0101, 0xffff_ffff_8010_0104,  // the fault's kernel visit
      0x400200, 0x400204, 0x400300, 0x400300,  // the entry, its call, the handler
      0x400104, 0x400107,  // the faulting instruction again, the end rdtsc
    ]
    var scanner = TraceScanner(map: map)
    scanner.feed(Array(pcs.map(line).joined().utf8))
    scanner.finish()
    XCTAssertEqual(scanner.kernelEntries, [4], "SYSCALL's entry is not an exception's")
    XCTAssertEqual(scanner.handlerCalls, [8])
    let rdtscs = scanner.points.filter { $0.what == .rdtsc }
    let sample = TracedSample(from: rdtscs[0], to: rdtscs[1])
    let returns = scanner.points.filter { $0.what == .returnToUser }.map(\.position)
    let found = ExceptionDispatch.first(
      in: sample, kernelEntries: scanner.kernelEntries, returns: returns, handlerCalls: scanner.handlerCalls)
    // The fault (3), the kernel's 3: the entry is the 5th instruction on.
    XCTAssertEqual(found, ExceptionDispatch(toEntry: 4, toHandler: 6))
    let quiet = TracedSample(from: rdtscs[0], to: scanner.points.first { $0.what == .returnToUser }!)
    XCTAssertNil(
      ExceptionDispatch.first(
        in: quiet, kernelEntries: scanner.kernelEntries, returns: returns, handlerCalls: scanner.handlerCalls))
  }

  func testARetractedKernelEntryIsForgotten() {
    var map = InstructionMap()
    map.add(objdump: "0000000000400100 <bench>:\n  400100:      \tnop\nffffffff80100100 <exception_common>:\nffffffff80100100:      \tpushq\t%rax\n")
    var scanner = TraceScanner(map: map)
    let text = line(0x400100) + line(0xffff_ffff_8010_0100)
      + "Stopped execution of TB chain before 0x7f4f48000100 [ffffffff80100100] \n" + line(0x400100)
    scanner.feed(Array(text.utf8))
    XCTAssertEqual(scanner.kernelEntries, [])
    XCTAssertEqual(scanner.position, 2)
  }

  func testTheReportGivesTheDispatchOfMetricsThatTakeAnException() throws {
    let line = try XCTUnwrap(
      BenchLine(
        json: #"{"bench": "vmbench", "accel": "icount", "unit": "instructions", "results": {"upcall": {"median": 80, "p99": 80}}}"#
      ))
    let loop: [(TracePoint.What, UInt64)] = [(.rdtsc, 0x20), (.rdtsc, 0x24), (.rdtsc, 0x20), (.rdtsc, 0x24)]
    let metrics = PrivilegedIntervals.metrics(points: points([(.mark, 1)] + loop + [(.mark, 1)], gap: 81), names: ["upcall"])
    let run = PrivilegedRun(
      bench: "vmbench", line: line, metrics: metrics, qemu: "qemu", traceLines: 9, seconds: 1,
      dispatch: ["upcall": ExceptionDispatch(toEntry: 32, toHandler: 47)])
    XCTAssertEqual(PrivilegedReport.dispatchLines(run).last, "| `upcall` | 32 | 47 |")
    let json = PrivilegedReport.jsonLine(run)
    XCTAssertTrue(json.contains("\"dispatch_to_entry\": 32, \"dispatch_to_handler\": 47"), json)
    XCTAssertTrue(PrivilegedReport.paper([run], date: Date()).contains("| `upcall` | 32 | 47 |"))
  }

  func testAMetricWithNoSamplesInTheTraceSaysSo() {
    let metrics = PrivilegedIntervals.metrics(
      points: points([(.mark, 1), (.rdtsc, 0x20), (.mark, 1)]), names: ["dirty", "missing"])
    XCTAssertEqual(metrics.map(\.samples.count), [0, 0])
    XCTAssertNil(metrics[0].median)
    XCTAssertEqual(metrics[1].how, "not found")
  }

  // MARK: the report

  func testTheReportShowsEachMetricsCountsAndWhatIsMissing() throws {
    let line = try XCTUnwrap(
      BenchLine(
        json: #"{"bench": "vmbench", "accel": "icount", "unit": "instructions", "results": {"prot1": {"median": 410, "p99": 410}, "appel2": {"median": 682, "p99": 690}, "map": {"median": 332, "p99": 332}}}"#
      ))
    let loop: [(TracePoint.What, UInt64)] = [(.rdtsc, 0x20), (.rdtsc, 0x24), (.rdtsc, 0x20), (.rdtsc, 0x24)]
    let prot = PrivilegedIntervals.metrics(points: points([(.mark, 1)] + loop + [(.mark, 1)], gap: 413), names: ["prot1"])
    let appel2 = PrivilegedIntervals.metrics(points: points([(.mark, 1)] + loop + [(.mark, 1)], gap: 68_363), names: ["appel2"])
    let run = PrivilegedRun(
      bench: "vmbench", line: line,
      metrics: prot + appel2 + [TracedMetric(name: "map", samples: [], how: "not found")], qemu: "qemu", traceLines: 9,
      seconds: 1)
    let table = PrivilegedReport.tableLines(run)
    XCTAssertEqual(table[3], "| `prot1` | 412 | 410 | 0 | 1 | 0 | 0 | 0 | 0 | 0 |")
    XCTAssertTrue(table[5].hasPrefix("| `map` | not found in the trace | 332 |"), table[5])
    XCTAssertEqual(PrivilegedReport.notes(run).count, 1)
    XCTAssertTrue(PrivilegedReport.notes(run)[0].contains("`appel2`: one sample covers about 100 times"))
    let json = PrivilegedReport.jsonLine(run)
    let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    XCTAssertEqual(object["of"] as? String, "vmbench")
    let results = try XCTUnwrap(object["results"] as? [String: Any])
    let prot1 = try XCTUnwrap(results["prot1"] as? [String: Any])
    XCTAssertEqual(prot1["instructions"] as? Int, 412)
    XCTAssertEqual(prot1["icount_median"] as? Int, 410)
    XCTAssertEqual(prot1["invlpg"] as? Int, 1)
    XCTAssertTrue(results["map"] is NSNull)
    let paper = PrivilegedReport.paper([run], date: Date(timeIntervalSince1970: 0))
    XCTAssertTrue(paper.contains("on 1970-01-01"))
    XCTAssertTrue(paper.contains(json))
  }

  // MARK: arguments

  func testArguments() throws {
    XCTAssertEqual(try PrivilegedOptions.parse([]).benches, [.vm, .cpu])
    XCTAssertEqual(try PrivilegedOptions.parse(["cpu"]).benches, [.cpu])
    XCTAssertEqual(try PrivilegedOptions.parse(["cpu", "vm"]).benches, [.vm, .cpu])
    XCTAssertTrue(try PrivilegedOptions.parse(["vm", "--keep-trace"]).keepTrace)
    XCTAssertFalse(try PrivilegedOptions.parse(["vm"]).keepTrace)
    for bad in [["net"], ["--runs", "3"], ["vm", "vm"], ["-x"], [""]] {
      XCTAssertThrowsError(try PrivilegedOptions.parse(bad), "\(bad)") { error in
        XCTAssertEqual((error as? ExoFailure)?.exitStatus, ExitStatus.usage, "\(bad)")
      }
    }
  }

  func testTheLogFilterCoversTheKernelAndTheAppSlotsOnly() {
    XCTAssertEqual(PrivilegedBenchmark.dfilter(slots: 1), "0x100000..0x43fffff,0xffff800000000000..0xffffffffffffffff")
    XCTAssertEqual(PrivilegedBenchmark.dfilter(slots: 2), "0x100000..0x83fffff,0xffff800000000000..0xffffffffffffffff")
  }
}
