// Unit tests of the exo command's host side: manifests, module command lines,
// build and QEMU arguments, argument parsing, and the boot verdict on sample logs.
import Foundation
import SecureBindings
import XCTest

@testable import ExoHost

final class HostTests: XCTestCase {
  // MARK: app.manifest

  let helloManifest = """
    # hello: prints a greeting and exits
    name = hello
    frames = 64

    slices = 1
    summary = prints a greeting and its env id, then exits 0
    """

  func testManifestParsesKeysCommentsAndBlankLines() throws {
    let manifest = try AppManifest.parse(helloManifest, file: "apps/hello/app.manifest", folder: "hello")
    XCTAssertEqual(
      manifest,
      AppManifest(name: "hello", frames: 64, slices: 1, summary: "prints a greeting and its env id, then exits 0"))
  }

  func testManifestSummaryIsOptionalAndMayHoldEqualsAndHashes() throws {
    let manifest = try AppManifest.parse(
      "name=a\nframes=1\nslices=64\nsummary = x = y # z\n", file: "f", folder: "a")
    XCTAssertEqual(manifest.summary, "x = y # z")
    XCTAssertEqual(try AppManifest.parse("name=a\nframes=65536\nslices=1", file: "f", folder: "a").summary, "")
  }

  private func manifestError(_ text: String, folder: String = "hello") -> ManifestError? {
    do {
      _ = try AppManifest.parse(text, file: "apps/\(folder)/app.manifest", folder: folder)
      return nil
    } catch {
      return error
    }
  }

  func testManifestUnknownKeyNamesFileAndLine() {
    let error = manifestError("name = hello\nframes = 64\ncolour = blue\nslices = 1")
    XCTAssertEqual(error?.line, 3)
    XCTAssertEqual(error?.file, "apps/hello/app.manifest")
    XCTAssertTrue(error?.description.hasPrefix("apps/hello/app.manifest:3: unknown key 'colour'") ?? false)
  }

  func testManifestLineWithoutEqualsIsAnError() {
    let error = manifestError("name = hello\nframes 64\nslices = 1")
    XCTAssertEqual(error?.line, 2)
    XCTAssertTrue(error?.message.contains("key = value") ?? false)
  }

  func testManifestMissingKeysAreErrors() {
    for key in ["name", "frames", "slices"] {
      let lines = ["name = hello", "frames = 64", "slices = 1"].filter { !$0.hasPrefix(key) }
      let error = manifestError(lines.joined(separator: "\n"))
      XCTAssertEqual(error?.message, "missing key '\(key)'", key)
      XCTAssertEqual(error?.description, "apps/hello/app.manifest: missing key '\(key)'")
    }
  }

  func testManifestNumbersOutOfRangeAreErrors() {
    for frames in ["0", "65537", "-1", "lots", ""] {
      let error = manifestError("name = hello\nframes = \(frames)\nslices = 1")
      XCTAssertEqual(error?.line, 2, "frames = \(frames)")
    }
    for slices in ["0", "65", "1.5"] {
      let error = manifestError("name = hello\nframes = 1\nslices = \(slices)")
      XCTAssertEqual(error?.line, 3, "slices = \(slices)")
    }
  }

  func testManifestNameMustEqualFolder() {
    let error = manifestError("name = hullo\nframes = 1\nslices = 1")
    XCTAssertEqual(error?.line, 1)
    XCTAssertTrue(error?.message.contains("folder name 'hello'") ?? false)
  }

  func testManifestNamesFollowTheKernelsRules() {
    for name in ["Hello", "a_b", "a.b", String(repeating: "a", count: 16)] {
      XCTAssertEqual(manifestError("name = \(name)\nframes = 1\nslices = 1", folder: name)?.line, 1, name)
    }
    XCTAssertNil(manifestError("name = a-9\nframes = 1\nslices = 1", folder: "a-9"))
    XCTAssertNil(
      manifestError(
        "name = \(String(repeating: "a", count: 15))\nframes = 1\nslices = 1",
        folder: String(repeating: "a", count: 15)))
  }

  func testManifestDuplicateKeyIsAnError() {
    XCTAssertEqual(manifestError("name = hello\nframes = 1\nframes = 2\nslices = 1")?.line, 3)
  }

  func testCatalogListsOnlyFoldersWithManifests() throws {
    let root = try temporaryPackage(apps: ["hello": helloManifest, "counter": "name=counter\nframes=2\nslices=3"])
    try FileManager.default.createDirectory(
      at: root.appendingPathComponent("apps/notanapp"), withIntermediateDirectories: true)
    let catalog = try AppCatalog.load(root: root)
    XCTAssertEqual(catalog.names, ["counter", "hello"])
    let table = ListCommand.table(catalog)
    XCTAssertEqual(table.count, 3)
    XCTAssertTrue(table[1].hasPrefix("counter") && table[1].contains(" 2 ") && table[1].hasSuffix(" 3  "))
    XCTAssertTrue(table[2].hasSuffix("prints a greeting and its env id, then exits 0"))
  }

  func testCatalogReportsABrokenManifestAsAConfigError() throws {
    let root = try temporaryPackage(apps: ["bad": "name = bad\nframes = 1\nslices = 1\nspeed = 9"])
    XCTAssertThrowsError(try AppCatalog.load(root: root)) { error in
      XCTAssertEqual((error as? ExoFailure)?.exitStatus, ExitStatus.config)
      XCTAssertEqual((error as? ExoFailure)?.message.hasPrefix("apps/bad/app.manifest:4: unknown key 'speed'"), true)
    }
  }

  func testPackageRootIsFoundFromASubfolder() throws {
    let root = try temporaryPackage(apps: ["hello": helloManifest])
    XCTAssertEqual(
      try PackageRoot.find(from: root.appendingPathComponent("apps/hello")).standardizedFileURL.path,
      root.standardizedFileURL.path)
    XCTAssertThrowsError(try PackageRoot.find(from: URL(fileURLWithPath: "/"))) { error in
      XCTAssertEqual((error as? ExoFailure)?.exitStatus, ExitStatus.config)
    }
  }

  // MARK: module command lines

  let hello = AppManifest(name: "hello", frames: 64, slices: 1)
  let fault = AppManifest(name: "fault", frames: 16, slices: 2)

  func testModuleCommandLineCarriesTheBootConfiguration() {
    XCTAssertEqual(BootModule.commandLine(for: hello, arg: nil), "name=hello frames=64 slices=1")
    XCTAssertEqual(BootModule.commandLine(for: fault, arg: "null"), "name=fault frames=16 slices=2 arg=null")
  }

  func testModulesTakeSlotsInOrderAndImagesPerSlot() throws {
    let catalog = AppCatalog(manifests: [hello, fault])
    let modules = try BootModule.modules(
      for: [AppChoice(name: "hello"), AppChoice(name: "fault", arg: "gp"), AppChoice(name: "hello")], catalog: catalog)
    XCTAssertEqual(modules.map(\.slot), [0, 1, 2])
    XCTAssertEqual(
      modules.map(\.imagePath),
      [
        "\(BuildPlan.imagesFolder)/hello-0.elf", "\(BuildPlan.imagesFolder)/fault-1.elf",
        "\(BuildPlan.imagesFolder)/hello-2.elf",
      ])
  }

  func testInitrdJoinsModulesWithCommasAndDoublesCommasInside() throws {
    let modules = [
      QemuModule(path: ".build-images/hello-0.elf", commandLine: "name=hello frames=64 slices=1"),
      QemuModule(path: ".build-images/x-1.elf", commandLine: "a=b,c"),
    ]
    XCTAssertEqual(
      try QemuMachine.initrd(modules),
      ".build-images/hello-0.elf name=hello frames=64 slices=1,.build-images/x-1.elf a=b,,c")
  }

  func testInitrdRefusesPathsWithSpacesOrCommas() {
    for path in ["/my images/a.elf", "a,b.elf", ""] {
      XCTAssertThrowsError(try QemuMachine.initrd([QemuModule(path: path, commandLine: "name=a")]), path)
    }
  }

  private func parsesAsBootConfig(_ text: String) throws {
    let bytes = Array(text.utf8)
    try bytes.withUnsafeBytes { buffer in _ = try BootConfig.parse(buffer) }
  }

  /// Needs secure-bindings/BootConfig.swift (the kernel's parser).
  func testBootConfigParseAcceptsTheHostsModuleCommandLines() {
    for (manifest, arg) in [(hello, nil), (fault, "null"), (fault, "a.B-9_z")] as [(AppManifest, String?)] {
      let line = BootModule.commandLine(for: manifest, arg: arg)
      XCTAssertNoThrow(try parsesAsBootConfig(line), line)
    }
  }

  func testHostRefusesCommandLinesTheKernelWouldRefuse() {
    XCTAssertNil(BootModule.kernelRefusal(of: "name=hello frames=64 slices=1 arg=x"))
    XCTAssertNotNil(BootModule.kernelRefusal(of: "name=hello frames=0 slices=1"))
    XCTAssertNotNil(BootModule.kernelRefusal(of: "name=hello frames=1"))
  }

  /// QEMU hands the kernel the whole `PATH CMDLINE` string of each module
  /// (seen on QEMU 7.2), so the kernel's parser must accept it with the path first.
  func testBootConfigParseAcceptsTheModuleStringAsQemuDeliversIt() {
    let module = BootModule(manifest: fault, arg: "null", slot: 1)
    let string = QemuModule(path: module.imagePath, commandLine: module.commandLine).multibootString
    XCTAssertEqual(string, "\(BuildPlan.imagesFolder)/fault-1.elf name=fault frames=16 slices=2 arg=null")
    XCTAssertNoThrow(try parsesAsBootConfig(string), string)
  }

  // MARK: build commands

  func testKernelBuildAndLinkCommands() {
    let swiftFlags: String =
      "-Xswiftc -enable-experimental-feature -Xswiftc Embedded -Xswiftc -wmo -Xswiftc -O "
      + "-Xswiftc -Xfrontend -Xswiftc -disable-stack-protector -Xswiftc -enforce-exclusivity=unchecked "
    let clangThroughSwift: String =
      "-Xswiftc -Xcc -Xswiftc -mno-red-zone -Xswiftc -Xcc -Xswiftc -mcmodel=kernel "
      + "-Xswiftc -Xcc -Xswiftc -mno-sse -Xswiftc -Xcc -Xswiftc -mno-mmx "
    let clang: String = "-Xcc -mno-red-zone -Xcc -mcmodel=kernel -Xcc -mno-sse -Xcc -mno-mmx"
    let expected: String =
      "build --triple x86_64-unknown-none-elf -c release --product exo-kernel --scratch-path \(BuildPlan.kernelScratch) "
      + swiftFlags + clangThroughSwift + clang
    XCTAssertEqual(BuildPlan.kernelBuild.joined(separator: " "), expected)
    XCTAssertEqual(
      BuildPlan.kernelLink.joined(separator: " "),
      "-T exo/arch/x86_64/asm/kernel.ld -z max-page-size=4096 --gc-sections --whole-archive "
        + "\(BuildPlan.kernelScratch)/x86_64-unknown-none-elf/release/libexo-kernel.a -o \(BuildPlan.imagesFolder)/kernel.elf"
    )
  }

  func testAppBuildAndLinkCommandsPlaceEachSlotAtItsOwnBase() {
    XCTAssertEqual(
      BuildPlan.appBuild("hello").joined(separator: " "),
      "build --triple x86_64-unknown-none-elf -c release --product app-hello --scratch-path \(BuildPlan.userScratch) "
        + "-Xswiftc -enable-experimental-feature -Xswiftc Embedded -Xswiftc -wmo -Xswiftc -O "
        + "-Xswiftc -Xfrontend -Xswiftc -disable-stack-protector")
    XCTAssertEqual(BuildPlan.appBase(slot: 0), 0x40_0000)
    XCTAssertEqual(BuildPlan.appBase(slot: 2), 0x840_0000)
    XCTAssertEqual(
      BuildPlan.appLink("counter", slot: 1).joined(separator: " "),
      "-T libos-posix/arch/x86_64/app.ld -z max-page-size=4096 --gc-sections --defsym=__app_base=0x4400000 "
        + "--whole-archive \(BuildPlan.userScratch)/x86_64-unknown-none-elf/release/libapp-counter.a -o \(BuildPlan.imagesFolder)/counter-1.elf"
    )
  }

  func testKernelTextBytesSumOnlyExecutableSections() {
    let headers = """
      kernel.elf:\tfile format elf64-x86-64

      Sections:
      Idx Name          Size     VMA              Type
        0               00000000 0000000000000000 
        1 .text         00001000 ffffffff80100000 TEXT
        2 .rodata       00000200 ffffffff80101000 DATA
        3 .boot         00000010 0000000000100000 TEXT
        4 .bss          00004000 ffffffff80102000 BSS
      """
    XCTAssertEqual(KernelSize.textBytes(objdumpHeaders: headers), 0x1010)
  }

  // MARK: QEMU arguments

  private let machineModules = [
    QemuModule(path: ".build-images/hello-0.elf", commandLine: "name=hello frames=64 slices=1")
  ]
  private let common = [
    "-nodefaults", "-machine", "pc", "-cpu", "qemu64", "-m", "256M", "-no-reboot", "-display", "none", "-serial",
    "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", BuildPlan.kernelImage, "-initrd",
    ".build-images/hello-0.elf name=hello frames=64 slices=1",
  ]

  func testQemuArgumentsUnderTCG() throws {
    XCTAssertEqual(try QemuMachine(accel: .tcg, modules: machineModules).arguments(), ["-accel", "tcg"] + common)
  }

  func testQemuArgumentsUnderIcount() throws {
    XCTAssertEqual(
      try QemuMachine(accel: .icount, modules: machineModules).arguments(),
      ["-accel", "tcg", "-icount", "shift=0,align=off,sleep=off"] + common)
  }

  func testQemuArgumentsUnderKVMUseTheHostCPU() throws {
    var expected = ["-accel", "kvm"] + common
    expected[expected.firstIndex(of: "qemu64")!] = "host,-arch-capabilities"
    XCTAssertEqual(try QemuMachine(accel: .kvm, modules: machineModules).arguments(), expected)
  }

  func testQemuArgumentsForGdbAndMemory() throws {
    let arguments = try QemuMachine(accel: .tcg, memoryMiB: 512, gdb: true, modules: machineModules).arguments()
    XCTAssertEqual(Array(arguments.suffix(2)), ["-s", "-S"])
    XCTAssertTrue(arguments.contains("512M"))
  }

  func testQemuCommandLineIsShellQuoted() throws {
    let line = try QemuMachine(accel: .tcg, modules: machineModules).commandLine()
    XCTAssertTrue(line.hasPrefix("qemu-system-x86_64 -accel tcg -nodefaults"))
    XCTAssertTrue(line.hasSuffix("-initrd '.build-images/hello-0.elf name=hello frames=64 slices=1'"))
  }

  func testGdbCommandLoadsKernelAndEveryApp() {
    XCTAssertEqual(
      GdbCommand.line(kernel: "/abs/.build-images/kernel.elf", apps: ["/abs/.build-images/hello-0.elf"]),
      "gdb -ex 'file /abs/.build-images/kernel.elf' -ex 'add-symbol-file /abs/.build-images/hello-0.elf' "
        + "-ex 'target remote localhost:1234'")
  }

  // MARK: exo boot's arguments

  private let apps = ["counter", "fault", "hello"]

  private func bootFailure(_ arguments: [String]) -> ExoFailure? {
    do {
      _ = try BootOptions.parse(arguments, knownApps: apps)
      return nil
    } catch {
      return error as? ExoFailure
    }
  }

  func testBootOptionsDefaultsAndEveryOption() throws {
    let plain = try BootOptions.parse(["hello"], knownApps: apps)
    XCTAssertEqual(plain.apps, [AppChoice(name: "hello")])
    XCTAssertEqual(plain.accel, .tcg)
    XCTAssertEqual(plain.effectiveTimeout, 60)
    XCTAssertEqual(plain.memoryMiB, 256)

    let full = try BootOptions.parse(
      ["hello", "fault:null", "--accel", "icount", "--timeout=5", "--memory", "512", "--build", "exo"], knownApps: apps)
    XCTAssertEqual(full.apps, [AppChoice(name: "hello"), AppChoice(name: "fault", arg: "null")])
    XCTAssertEqual(full.accel, .icount)
    XCTAssertEqual(full.timeoutSeconds, 5)
    XCTAssertEqual(full.memoryMiB, 512)

    let debug = try BootOptions.parse(["hello", "--gdb", "--accel=kvm"], knownApps: apps)
    XCTAssertTrue(debug.gdb)
    XCTAssertEqual(debug.accel, .kvm)
    XCTAssertNil(debug.effectiveTimeout, "--gdb runs have no timeout")
  }

  func testHeldAppsAreNamedByPositionAfterTheFirst() throws {
    let options = try BootOptions.parse(["hello", "counter", "fault", "--held", "3", "--held=2"], knownApps: apps)
    XCTAssertEqual(options.apps.map(\.held), [false, true, true])
    for bad in [["--held", "1"], ["--held", "4"], ["--held", "0"], ["--held", "two"], ["--held"]] {
      let failure = bootFailure(["hello", "counter", "fault"] + bad)
      XCTAssertEqual(failure?.exitStatus, 64, "\(bad)")
      XCTAssertEqual(failure?.showsUsage, true, "\(bad)")
    }
    let manifest = try AppManifest.parse("name=hello\nframes=128\nslices=1", file: "f", folder: "hello")
    let module = BootModule(manifest: manifest, arg: nil, slot: 1, held: true)
    XCTAssertEqual(module.commandLine, "name=hello frames=128 slices=1 held=1")
    XCTAssertNil(BootModule.kernelRefusal(of: module.commandLine))
  }

  func testUnknownAppListsTheApps() {
    let failure = bootFailure(["hello", "nosuchapp"])
    XCTAssertEqual(failure?.description, "exo: unknown app 'nosuchapp'; the apps are: counter, fault, hello")
    XCTAssertEqual(failure?.exitStatus, 64)
    XCTAssertEqual(failure?.showsUsage, false)
  }

  func testBadAppArgumentsAreUsageErrors() {
    for bad in ["fault:", "fault:a b", "fault:a,b", "fault:" + String(repeating: "x", count: 65), "fault:ü"] {
      let failure = bootFailure([bad])
      XCTAssertEqual(failure?.exitStatus, 64, bad)
      XCTAssertEqual(failure?.showsUsage, true, bad)
    }
    XCTAssertNil(bootFailure(["fault:" + String(repeating: "x", count: 64)]))
  }

  func testSliceOverridesReachTheCommandLine() throws {
    let choice = try AppChoice.parse("share:rr-40@3")
    XCTAssertEqual(choice, AppChoice(name: "share", arg: "rr-40", slices: 3))
    XCTAssertEqual(choice.label, "share:rr-40@3")
    XCTAssertEqual(try AppChoice.parse("hello@64"), AppChoice(name: "hello", slices: 64))
    let manifest = AppManifest(name: "share", frames: 128, slices: 1)
    XCTAssertEqual(
      BootModule(manifest: manifest, arg: "rr", slot: 0, slices: 5).commandLine, "name=share frames=128 slices=5 arg=rr")
    XCTAssertEqual(BootModule(manifest: manifest, arg: nil, slot: 0).commandLine, "name=share frames=128 slices=1")
    for bad in ["hello@0", "hello@65", "hello@", "hello@x", "hello@-1", "fault:ud@99"] {
      let failure = bootFailure([bad])
      XCTAssertEqual(failure?.exitStatus, 64, bad)
    }
  }

  func testUnknownOptionsAndBadValuesAreUsageErrors() {
    for arguments in [
      ["hello", "--bogus"], ["hello", "--accel", "hvf"], ["hello", "--accel"], ["hello", "--timeout", "0"],
      ["hello", "--timeout", "soon"], ["hello", "--memory", "lots"], ["hello", "--build", "mega"], [],
      ["--accel", "tcg"],
    ] {
      let failure = bootFailure(arguments)
      XCTAssertEqual(failure?.exitStatus, 64, "\(arguments)")
      XCTAssertEqual(failure?.showsUsage, true, "\(arguments)")
    }
  }

  func testMicroBuildDoesNotExistYet() {
    let failure = bootFailure(["hello", "--build", "micro"])
    XCTAssertEqual(failure?.exitStatus, 64)
    XCTAssertTrue(failure?.message.contains("does not exist yet") ?? false)
  }

  func testTopLevelUsageErrorsExit64() {
    for arguments in [["frobnicate"], [], ["list", "extra"]] {
      XCTAssertThrowsError(try ExoCLI.dispatch(arguments)) { error in
        XCTAssertEqual((error as? ExoFailure)?.exitStatus, 64)
        XCTAssertEqual((error as? ExoFailure)?.showsUsage, true)
      }
    }
    XCTAssertEqual(try BenchCommand.parse(["boot", "--runs", "3"]), 3)
    XCTAssertEqual(try BenchCommand.parse([]), 10)
    XCTAssertThrowsError(try BenchCommand.parse(["boot", "--runs", "0"]))
    XCTAssertThrowsError(try BenchCommand.parse(["net"]))
  }

  // MARK: the boot verdict

  let goodLog = [
    "[exo] exo kernel: 256 MiB RAM, 64000 frames free, 2 app modules",
    "[exo] env hello:1 started: 9 frames",
    "[hello:1] Hello from the exokernel! I am env 1.",
    "[exo] boot: first env line after 1234567 tsc ticks from kernel entry",
    "[exo] env hello:1 exited: status 0",
    "[exo] env counter:2 started: 9 frames",
    "[counter:2] count 1",
    "[exo] env counter:2 exited: status 0",
    "[exo] all envs exited; frames free 64000 of 64000",
  ]

  func testGoodBoot() {
    XCTAssertEqual(BootVerdict.goodQemuStatus, 33)
    let verdict = BootVerdict.judge(lines: goodLog, end: .exited(status: 33))
    XCTAssertTrue(verdict.isGood, verdict.reason)
    XCTAssertEqual(verdict.exitStatus, 0)
    XCTAssertEqual(
      verdict.envs,
      [
        EnvReport(name: "hello", id: 1, frames: 9, end: .exited(status: 0)),
        EnvReport(name: "counter", id: 2, frames: 9, end: .exited(status: 0)),
      ])
    XCTAssertEqual(verdict.framesFreeAtBoot, 64000)
    XCTAssertEqual(verdict.framesFreeAtEnd, 64000)
    XCTAssertEqual(verdict.framesTotalAtEnd, 64000)
    XCTAssertEqual(verdict.firstEnvLineTicks, 1_234_567)
    XCTAssertEqual(verdict.reason, "good boot: hello:1 exited 0; counter:2 exited 0; frames free 64000 of 64000")
  }

  func testStatusZeroIsATripleFault() {
    let verdict = BootVerdict.judge(lines: Array(goodLog.prefix(3)), end: .exited(status: 0))
    XCTAssertEqual(verdict.failure, .tripleFault)
    XCTAssertEqual(verdict.exitStatus, 70)
    XCTAssertTrue(verdict.reason.contains("triple fault"))
  }

  func testKernelPanicShowsThePanicLines() {
    let lines =
      Array(goodLog.prefix(2)) + ["[exo] PANIC: #GP in kernel at rip 0xffffffff80101234", "[exo] PANIC: rax 0x0"]
    let verdict = BootVerdict.judge(lines: lines, end: .exited(status: 65))
    XCTAssertEqual(verdict.failure, .panic(lines: Array(lines.suffix(2))))
    XCTAssertEqual(verdict.exitStatus, 70)
    XCTAssertEqual(verdict.reason, "failed boot: kernel panic: [exo] PANIC: #GP in kernel at rip 0xffffffff80101234")
  }

  func testGoodStatusWithoutTheFinalLineFails() {
    let verdict = BootVerdict.judge(lines: Array(goodLog.dropLast()), end: .exited(status: 33))
    XCTAssertEqual(verdict.failure, .missingFinalLine(lastKernelLine: "[exo] env counter:2 exited: status 0"))
    XCTAssertEqual(verdict.exitStatus, 70)
    // The final line must also be the last kernel line.
    let late = goodLog + ["[exo] env hello:3 started: 9 frames"]
    XCTAssertFalse(BootVerdict.judge(lines: late, end: .exited(status: 33)).isGood)
    // Env lines after it do not matter.
    XCTAssertTrue(BootVerdict.judge(lines: goodLog + ["[hello:1] late"], end: .exited(status: 33)).isGood)
  }

  func testHangAndUnexpectedStatuses() {
    XCTAssertEqual(BootVerdict.judge(lines: goodLog, end: .timedOut(seconds: 60)).failure, .hang(seconds: 60))
    XCTAssertEqual(BootVerdict.judge(lines: goodLog, end: .exited(status: 3)).failure, .unexpectedStatus(3))
    XCTAssertEqual(BootVerdict.judge(lines: [], end: .signalled(9)).failure, .signalled(9))
    XCTAssertEqual(BootVerdict.judge(lines: [], end: .timedOut(seconds: 60)).exitStatus, 70)
  }

  private func endedWith(_ line: String) -> BootVerdict {
    BootVerdict.judge(
      lines: [
        "[exo] exo kernel: 256 MiB RAM, 64000 frames free, 1 app modules", "[exo] env fault:1 started: 9 frames",
        line, "[exo] all envs exited; frames free 64000 of 64000",
      ], end: .exited(status: 33))
  }

  func testKilledEnvExitsWith128PlusVector() {
    let cases = [
      ("#PF page fault at rip 0x401234, address 0x0", 142), ("#GP general protection at rip 0x401000", 141),
      ("#UD invalid opcode at rip 0x401000", 134), ("#DE divide error at rip 0x401000", 128),
    ]
    for (reason, status) in cases {
      let verdict = endedWith("[exo] env fault:1 killed: \(reason)")
      XCTAssertTrue(verdict.isGood, verdict.reason)
      XCTAssertEqual(verdict.envs.first?.end, .killed(reason: reason, vector: status - 128))
      XCTAssertEqual(verdict.exitStatus, Int32(status), reason)
    }
    XCTAssertEqual(endedWith("[exo] env fault:1 killed: return address outside the user half").exitStatus, 1)
  }

  func testNonzeroExitKeepsItsLowByte() {
    XCTAssertEqual(endedWith("[exo] env fault:1 exited: status 3").exitStatus, 3)
    XCTAssertEqual(endedWith("[exo] env fault:1 exited: status 258").exitStatus, 2)
    XCTAssertEqual(endedWith("[exo] env fault:1 exited: status 256").exitStatus, 1)
    XCTAssertEqual(endedWith("[exo] env fault:1 exited: status 4294967295").exitStatus, 255)
  }

  func testFirstFailingEnvByIdDecides() {
    let lines = [
      "[exo] env b:2 started: 1 frames", "[exo] env a:1 started: 1 frames", "[exo] env c:3 started: 1 frames",
      "[exo] env c:3 exited: status 7", "[exo] env b:2 killed: #UD invalid opcode at rip 0x400000",
      "[exo] env a:1 exited: status 0", "[exo] all envs exited; frames free 10 of 10",
    ]
    let verdict = BootVerdict.judge(lines: lines, end: .exited(status: 33))
    XCTAssertEqual(verdict.envs.map(\.id), [1, 2, 3])
    XCTAssertEqual(verdict.exitStatus, 134)
  }

  func testRefusedModulesAreNamedInTheVerdict() {
    let lines = [goodLog[0], "[exo] module 2 refused: bad magic"] + goodLog.suffix(1)
    let verdict = BootVerdict.judge(lines: lines, end: .exited(status: 33))
    XCTAssertEqual(verdict.refusedModules, ["[exo] module 2 refused: bad magic"])
    XCTAssertEqual(verdict.reason, "good boot: no envs; module 2 refused: bad magic; frames free 64000 of 64000")
  }

  func testConsoleLinesAreTold() {
    XCTAssertEqual(ConsoleLine("[exo] hi"), .kernel("hi"))
    XCTAssertEqual(ConsoleLine("[hello:12] hi there"), .env(name: "hello", id: 12, text: "hi there"))
    XCTAssertEqual(ConsoleLine("[hello:x] hi"), .other("[hello:x] hi"))
    XCTAssertEqual(ConsoleLine("SeaBIOS"), .other("SeaBIOS"))
  }

  // MARK: helpers of the runner and the bench

  func testLineSplitterKeepsPartialLinesAndDropsCarriageReturns() {
    var splitter = LineSplitter()
    XCTAssertEqual(splitter.feed(Array("a\r\nb".utf8)), ["a"])
    XCTAssertEqual(splitter.feed(Array("c\n\nd".utf8)), ["bc", ""])
    XCTAssertEqual(splitter.rest(), "d")
    XCTAssertNil(splitter.rest())
  }

  func testMedianAndNearestRankP99() {
    XCTAssertNil(BenchStatistics([]))
    XCTAssertEqual(BenchStatistics([3, 1, 2]), BenchStatistics([1, 2, 3]))
    XCTAssertEqual(BenchStatistics([3, 1, 2])?.median, 2)
    XCTAssertEqual(BenchStatistics([4, 1, 2, 3])?.median, 2.5)
    XCTAssertEqual(BenchStatistics((1...10).map(Double.init))?.p99, 10)
    XCTAssertEqual(BenchStatistics((1...200).map(Double.init))?.p99, 198)
  }

  func testBenchJSONLines() {
    let result = BootBenchResult(
      date: Date(timeIntervalSince1970: 0), runs: 2, tcg: BenchStatistics([100, 300])!,
      kvm: .unavailable("no /dev/kvm"), icountInstructions: 4242,
      kernel: KernelSize(textBytes: 9000, swiftLines: 800, asmLines: 120, headerLines: 40))
    XCTAssertEqual(
      BenchReport.jsonLines(result),
      [
        #"{"bench": "boot", "accel": "tcg", "unit": "ms", "results": {"first_env_line": {"median": 200.0, "p99": 300.0}}}"#,
        #"{"bench": "boot", "accel": "icount", "unit": "instructions", "results": {"first_env_line": {"median": 4242, "p99": 4242}}}"#,
        #"{"bench": "kernel-size", "text_bytes": 9000, "swift_lines": 800, "asm_lines": 120, "header_lines": 40}"#,
      ])
    for line in BenchReport.jsonLines(result) {
      XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(line.utf8)), line)
    }
    let page = BenchReport.markdown(result)
    XCTAssertTrue(page.contains("1970-01-01"))
    XCTAssertTrue(page.contains("| kvm | unavailable: no /dev/kvm |"))
  }

  // MARK: fixtures

  /// A throwaway package folder with the given apps/NAME/app.manifest files.
  private func temporaryPackage(apps: [String: String]) throws -> URL {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("exo-host-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    try "// swift-tools-version:6.0\n".write(
      to: root.appendingPathComponent("Package.swift"), atomically: true, encoding: .utf8)
    for (name, text) in apps {
      let folder = root.appendingPathComponent("apps/\(name)")
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
      try text.write(to: folder.appendingPathComponent("app.manifest"), atomically: true, encoding: .utf8)
    }
    addTeardownBlock { try? FileManager.default.removeItem(at: root) }
    return root
  }
}
