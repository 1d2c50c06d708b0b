// Boot tests: build the kernel and apps once, boot them in QEMU under TCG through
// ExoHost, and check what they print (one class, so they run one at a time).
import ExoHost
import SecureBindings
import Foundation
import XCTest

final class BootTests: XCTestCase {
  /// Built once per test run and shared by every boot test.
  private static let prepared: Result<BootBench, any Error> = Result {
    try BootBench.prepare(apps: ["hello", "counter", "fault", "badcalls", "ports", "spinner", "pct", "sleeper", "echo"])
  }

  func testHelloPrintsItsGreetingAndExits() throws {
    let result = try boot("hello")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertTrue(result.lines.contains("[hello:1] Hello from the exokernel! I am env 1."), log)
    XCTAssertTrue(result.lines.contains("[exo] env hello:1 exited: status 0"), log)
    XCTAssertEqual(result.verdict.exitStatus, 0, log)
    let atBoot = try XCTUnwrap(result.verdict.framesFreeAtBoot, "no frame count in the kernel's banner\n\(log)")
    XCTAssertEqual(result.verdict.framesFreeAtEnd, atBoot, "frames leaked\n\(log)")
  }

  func testHelloAndCounterBothExitAndCounterCountsInOrder() throws {
    let result = try boot("hello", "counter")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertEqual(result.verdict.envs.map { "\($0.name):\($0.id)" }, ["hello:1", "counter:2"], log)
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0), .exited(status: 0)], log)
    XCTAssertEqual(
      result.lines.filter { $0.hasPrefix("[counter:2] count ") }, (1...5).map { "[counter:2] count \($0)" }, log)
    XCTAssertEqual(result.verdict.exitStatus, 0, log)
  }

  func testFaultingAppsAreKilledAloneWhileHelloRuns() throws {
    let result = try boot("fault", "hello", "fault:ud", "fault:divide")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertEqual(result.verdict.envs.map { $0.end?.vector }, [14, nil, 6, 0], log)
    XCTAssertTrue(
      result.lines.contains { $0.hasPrefix("[exo] env fault:1 killed: #PF page fault at rip 0x") && $0.contains(", address 0x0,") },
      log)
    XCTAssertTrue(result.lines.contains { $0.hasPrefix("[exo] env fault:3 killed: #UD invalid opcode at rip 0x") }, log)
    XCTAssertTrue(result.lines.contains { $0.hasPrefix("[exo] env fault:4 killed: #DE divide error at rip 0x") }, log)
    XCTAssertTrue(result.lines.contains("[exo] env hello:2 exited: status 0"), log)
    XCTAssertFalse(result.lines.contains { $0.contains("still alive") }, log)
    XCTAssertEqual(result.verdict.framesFreeAtEnd, result.verdict.framesFreeAtBoot, "frames leaked\n\(log)")
    XCTAssertEqual(result.verdict.exitStatus, 128 + 14, log)
  }

  func testEveryBadKernelCallIsRefusedAndTheKernelLives() throws {
    let result = try boot("badcalls", "hello")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    // The unknown numbers: each gap in the table (none today), the first past it, and 4 far ones.
    let gaps = (0...(KernelCall.allCases.map(\.rawValue).max()! + 1)).filter { KernelCall(rawValue: $0) == nil }.count
    XCTAssertEqual(gaps, 1, "the first number past the table")
    XCTAssertTrue(
      result.lines.contains("[badcalls:1] all \(16 + gaps + 4) bad calls answered correctly; the kernel is alive"), log)
    XCTAssertFalse(result.lines.contains { $0.contains("WRONG") }, log)
    XCTAssertEqual(result.lines.filter { $0.hasPrefix("[badcalls:1] refused ") }.count, 13 + gaps + 4, log)
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0), .exited(status: 0)], log)
  }

  /// `out` to the exit port, `cli`, and `popf` asking for IOPL 3 must all stay
  /// powerless in ring 3: each env is killed with #GP, QEMU does not exit early.
  func testPrivilegedInstructionsKillOnlyTheirEnv() throws {
    let result = try boot("ports", "ports:cli", "ports:iopl", "counter")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertEqual(result.verdict.envs.map { $0.end?.vector }, [13, 13, 13, nil], log)
    XCTAssertTrue(result.lines.contains("[ports:3] popf with IOPL 3 left IOPL at 0"), log)
    XCTAssertTrue(result.lines.contains("[counter:4] count 5"), log)
    XCTAssertTrue(result.lines.contains("[exo] env counter:4 exited: status 0"), log)
    XCTAssertFalse(result.lines.contains { $0.contains("still alive") }, log)
  }

  /// The APIC timer takes the CPU from an env that never yields: the others
  /// run to completion while it still spins.
  func testSpinnerLosesOnlyItsOwnSlices() throws {
    let result = try boot("spinner", "hello", "counter")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0), .exited(status: 0), .exited(status: 0)], log)
    let done = try XCTUnwrap(result.lines.firstIndex { $0.hasPrefix("[spinner:1] done spinning") }, log)
    let helloExit = try XCTUnwrap(result.lines.firstIndex(of: "[exo] env hello:2 exited: status 0"), log)
    let counterExit = try XCTUnwrap(result.lines.firstIndex(of: "[exo] env counter:3 exited: status 0"), log)
    XCTAssertLessThan(helloExit, done, "hello had to wait for the spinner\n\(log)")
    XCTAssertLessThan(counterExit, done, "counter had to wait for the spinner\n\(log)")
  }

  /// Slice-start upcalls: each slice of the spinner begins in its libOS,
  /// which resumes the loop where the timer stopped it; the loop's own
  /// count proves nothing was lost, and the other envs still finish.
  func testSliceStartUpcallsResumeTheInterruptedContext() throws {
    let result = try boot("spinner:upcalls", "hello", "counter")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0), .exited(status: 0), .exited(status: 0)], log)
    let done = try XCTUnwrap(result.lines.first { $0.hasPrefix("[spinner:1] done spinning after ") }, log)
    let upcalls = try XCTUnwrap(Int(done.split(separator: " ").dropLast(2).last ?? ""), done)
    XCTAssertGreaterThan(upcalls, 0, done)
  }

  /// Sleeping in the kernel: under -icount the TSC counts instructions, so
  /// the sleeps are exact, and with every env asleep the CPU halts.
  func testSleepsNeverEndEarlyAndAnIdleCPUHalts() throws {
    let result = try prepared().boot(["sleeper"], accel: .icount)
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertTrue(result.lines.contains("[sleeper:1] slept 3 times"), log)
    for line in result.lines where line.hasPrefix("[sleeper:1] slept ") && line.hasSuffix(" TSC ticks") {
      let ticks = try XCTUnwrap(UInt64(line.split(separator: " ")[2]), line)
      XCTAssertGreaterThanOrEqual(ticks, 2_000_000, "woke before its 2 ms\n\(log)")
    }
    XCTAssertTrue(result.lines.contains { $0.hasPrefix("[exo] idle: halted ") }, log)
    // The 300 µs timeout is the APIC's deadline, not the next 1 ms slice end
    // (under icount a TSC tick is one instruction, a nanosecond of guest time).
    let short = try XCTUnwrap(result.lines.first { $0.hasPrefix("[sleeper:1] short sleep took ") }, log)
    let parts = short.split(separator: " ")
    let ticks = try XCTUnwrap(UInt64(parts[4]), short)
    XCTAssertEqual(parts.last, "0", "the short sleep ended with an event, not its timeout\n\(log)")
    XCTAssertGreaterThanOrEqual(ticks, 300_000, "woke before its 300 µs\n\(log)")
    XCTAssertLessThan(ticks, 1_000_000, "the timeout waited for a slice's end\n\(log)")
  }

  /// A signal wakes a waiting env; a signal to an env that does not list
  /// the sender is refused; an env waiting for a signal no one can send is
  /// ended instead of hanging the boot.
  func testEventsWakeWaitersAndAStuckWaiterIsEnded() throws {
    let result = try boot("sleeper:waiter", "sleeper:signaler", "hello")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertTrue(result.lines.contains("[sleeper:1] woken by a signal: bits 0x5a"), log)
    XCTAssertTrue(result.lines.contains { $0.hasPrefix("[sleeper:2] a signal to an env that does not listen is refused") }, log)
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0), .exited(status: 0), .exited(status: 0)], log)
    let stuck = try boot("sleeper:waiter")
    XCTAssertTrue(stuck.verdict.isGood, stuck.lines.joined(separator: "\n"))
    XCTAssertTrue(
      stuck.lines.contains("[exo] env sleeper:1 killed: waits for an event no live env can send"),
      stuck.lines.joined(separator: "\n"))
  }

  /// A device line bound to one env: what is typed on the console reaches
  /// the env that bound the serial receive interrupt, through its events.
  func testTypedLinesReachTheEnvBoundToTheSerialLine() throws {
    let result = try prepared().boot(["echo", "hello"], input: "hello exo\nsecond line\nquit\n")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertTrue(result.lines.contains("[echo:1] you typed: hello exo"), log)
    XCTAssertTrue(result.lines.contains("[echo:1] you typed: second line"), log)
    XCTAssertTrue(result.lines.contains("[echo:1] quit after 2 lines"), log)
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0), .exited(status: 0)], log)
  }

  /// The transfer's hostile cases (apps/pct/Hostile.swift): no register
  /// leaks either way (the callee starts with the words and zero elsewhere,
  /// XMM and x87 included; the caller gets its callee-saved registers and
  /// its FP state back byte for byte and none of the callee's patterns),
  /// and the refusals: itself, env 0, an unclaimed env, past the table, a
  /// callee that does not allow the caller, a call from inside an
  /// activation, a busy callee, one that stopped listening, one that exited.
  func testProtectedControlTransferHostileCases() throws {
    let result = try boot("pct:hostile", "pct:probed", "pct:picky")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    for expected in [
      "the caller gets its registers back and nothing of the callee's",
      "the callee starts with the words and zero elsewhere",
      "the sender gets its registers back and nothing of the callee's",
      "the callee of a send starts clean too",
      "calling itself is refused",
      "calling env 0 is refused",
      "calling an unclaimed env is refused",
      "calling past the env table is refused",
      "calling an env that does not allow the caller is refused",
      "sending to an env that does not allow the caller is refused",
      "a call from inside an activation is refused",
      "calling a busy callee is refused",
      "calling an env that no longer listens is refused",
      "calling an exited env is refused",
    ] {
      XCTAssertTrue(result.lines.contains("[pct:1] ok \(expected)"), "\(expected)\n\(log)")
    }
    XCTAssertTrue(result.lines.contains("[pct:1] pct: every hostile case as expected"), log)
    XCTAssertFalse(result.lines.contains { $0.contains("WRONG") }, log)
    XCTAssertEqual(
      result.verdict.envs.map(\.end), [.exited(status: 0), .exited(status: 0), .exited(status: 0)], log)
    XCTAssertEqual(result.verdict.framesFreeAtEnd, result.verdict.framesFreeAtBoot, "frames leaked\n\(log)")
  }

  /// Protected control transfer: replies come back, and calling itself, an
  /// unknown env, one that stopped listening or one that exited is refused.
  func testProtectedControlTransferAndItsRefusals() throws {
    let result = try boot("pct:client", "pct:server")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertTrue(result.lines.contains("[pct:1] pct: all 1003 calls and refusals as expected"), log)
    XCTAssertTrue(result.lines.contains("[pct:2] served 1104 calls"), log)
    XCTAssertFalse(result.lines.contains { $0.contains("WRONG") }, log)
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0), .exited(status: 0)], log)
    XCTAssertEqual(result.verdict.framesFreeAtEnd, result.verdict.framesFreeAtBoot, "frames leaked\n\(log)")
  }

  /// A user-level handler resolves the exception; the kernel only delivers it.
  func testExceptionResolvedByTheAppsOwnHandler() throws {
    let result = try boot("fault:handled", "hello")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertTrue(result.lines.contains("[fault:1] handled #UD at user level 1 time(s) and resumed"), log)
    XCTAssertEqual(result.verdict.envs.map(\.end), [.exited(status: 0), .exited(status: 0)], log)
  }

  /// A handler whose resume faults (the thread's stack moved to an unmapped
  /// page) faults while upcalls are still disabled: the kernel ends that
  /// env alone, as a fault in the handler, and the others run on.
  func testAFaultInsideTheResumeKillsOnlyThatEnv() throws {
    let result = try boot("fault:resume", "hello")
    let log = result.lines.joined(separator: "\n")
    XCTAssertTrue(result.verdict.isGood, "\(result.verdict.reason)\n\(log)")
    XCTAssertTrue(
      result.lines.contains {
        $0.hasPrefix("[exo] env fault:1 killed: fault in handler: #PF page fault at rip 0x")
          && $0.contains(", address 0x4fffffffff")
      }, log)
    XCTAssertFalse(result.lines.contains { $0.contains("still alive") }, log)
    XCTAssertTrue(result.lines.contains("[exo] env hello:2 exited: status 0"), log)
    XCTAssertEqual(result.verdict.framesFreeAtEnd, result.verdict.framesFreeAtBoot, "frames leaked\n\(log)")
  }

  /// Malformed images and boot configurations are refused one by one, with a
  /// reason, and the good app in the same boot still runs.
  func testMalformedModulesAreRefusedAndTheOthersStart() throws {
    let bench = try prepared()
    let plan = try BootPlan(root: bench.root, catalog: bench.catalog, apps: [AppChoice(name: "hello")], accel: .tcg)
    try bench.builder.link(plan.modules)
    let hello = try Data(contentsOf: bench.root.appendingPathComponent(plan.modules[0].imagePath))
    let folder = bench.root.appendingPathComponent(".build-images/hostile")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)

    func image(_ name: String, _ change: (inout Data) -> Void) throws -> String {
      var bytes = hello
      change(&bytes)
      let url = folder.appendingPathComponent(name)
      try bytes.write(to: url)
      return ".build-images/hostile/\(name)"
    }
    func put64(_ data: inout Data, _ offset: Int, _ value: UInt64) {
      for i in 0..<8 { data[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }
    let firstProgramHeader = 64  // app.ld's images: program headers right after the ELF header
    let good = "name=hello frames=128 slices=1"
    let modules = [
      QemuModule(path: try image("bad-magic.elf") { $0[1] = UInt8(ascii: "X") }, commandLine: good),
      QemuModule(path: try image("i386.elf") { $0[18] = 3; $0[19] = 0 }, commandLine: good),
      QemuModule(path: try image("truncated.elf") { $0 = $0.prefix(0x1800) }, commandLine: good),
      QemuModule(
        path: try image("kernel-half.elf") { put64(&$0, firstProgramHeader + 16, 0xffff_ffff_8010_0000) },
        commandLine: good),
      QemuModule(path: plan.modules[0].imagePath, commandLine: "name=hello frames=4 slices=1"),
      QemuModule(path: plan.modules[0].imagePath, commandLine: "name=Hello frames=128 slices=1"),
      QemuModule(path: plan.modules[0].imagePath, commandLine: "name=hello slices=1"),
      QemuModule(path: plan.modules[0].imagePath, commandLine: good),
    ]
    let machine = QemuMachine(accel: .tcg, modules: modules)
    let run = try QemuSession.run(machine, qemu: bench.qemu, in: bench.root, timeout: 60)
    let verdict = BootVerdict.judge(lines: run.lines, end: run.end)
    let log = run.lines.joined(separator: "\n")
    XCTAssertTrue(verdict.isGood, "\(verdict.reason)\n\(log)")
    XCTAssertEqual(verdict.refusedModules.count, 7, log)
    for n in 1...7 {
      XCTAssertTrue(run.lines.contains { $0.hasPrefix("[exo] module \(n) refused: ") }, "module \(n)\n\(log)")
    }
    XCTAssertEqual(verdict.envs.map { "\($0.name):\($0.id)" }, ["hello:1"], log)
    XCTAssertEqual(verdict.envs.map(\.end), [.exited(status: 0)], log)
    XCTAssertEqual(verdict.framesFreeAtEnd, verdict.framesFreeAtBoot, "frames leaked by refused modules\n\(log)")
  }

  /// The kernel's own check, which the host tool's plan check normally
  /// hides: no two envs share a MAC or an IPv4 address. Modules 2 and 3
  /// reuse module 1's MAC and its address; module 4 has its own pair.
  func testASecondModuleWithATakenMACOrAddressIsRefused() throws {
    let bench = try prepared()
    let plan = try BootPlan(root: bench.root, catalog: bench.catalog, apps: [AppChoice(name: "hello")], accel: .tcg)
    try bench.builder.link(plan.modules)
    let pairs = [("01", "100"), ("01", "101"), ("02", "100"), ("03", "101")]
    let modules = pairs.map { mac, host in
      QemuModule(
        path: plan.modules[0].imagePath,
        commandLine: "name=hello frames=128 slices=1 mac=02:00:00:00:00:\(mac) ip=10.0.2.\(host)")
    }
    let run = try QemuSession.run(QemuMachine(accel: .tcg, modules: modules), qemu: bench.qemu, in: bench.root, timeout: 60)
    let verdict = BootVerdict.judge(lines: run.lines, end: run.end)
    let log = run.lines.joined(separator: "\n")
    XCTAssertTrue(verdict.isGood, "\(verdict.reason)\n\(log)")
    for n in [2, 3] {
      XCTAssertTrue(
        run.lines.contains("[exo] module \(n) refused: another env is bound to the same MAC or IPv4 address"),
        "module \(n)\n\(log)")
    }
    XCTAssertEqual(verdict.refusedModules.count, 2, log)
    XCTAssertEqual(verdict.envs.map { "\($0.name):\($0.id)" }, ["hello:1", "hello:2"], log)
    XCTAssertEqual(verdict.envs.map(\.end), [.exited(status: 0), .exited(status: 0)], log)
  }

  private func prepared() throws -> BootBench { try BootBench.unwrap(Self.prepared) }

  private func boot(_ apps: String...) throws -> BootResult { try prepared().boot(apps) }
}


extension EnvReport.End {
  /// The exception vector of a kill, nil for an exit.
  var vector: Int? {
    if case .killed(_, let vector) = self { return vector }
    return nil
  }
}
