// What every class of QEMU boot tests shares: the package, its apps, QEMU
// and the built images (built once per class), booting a list of apps under
// TCG with a hard timeout, and finding a benchmark's JSON line in a boot.
import ExoHost
import Foundation
import XCTest

struct BootBench: Sendable {
  let root: URL
  let catalog: AppCatalog
  let qemu: URL
  let builder: ImageBuilder

  static func prepare(apps: [String]) throws -> BootBench {
    guard let qemu = QemuInstaller.locate() else {
      throw ExoFailure(
        "QEMU is not installed, so the boot tests cannot run; install it with: "
          + "sudo apt-get install -y qemu-system-x86 (.ci/run does this)", exitStatus: ExitStatus.unavailable)
    }
    let root = try PackageRoot.find(from: URL(fileURLWithPath: #filePath).deletingLastPathComponent())
    let builder = ImageBuilder(root: root, toolchain: try Toolchain.find())
    try builder.compile(apps: apps)
    return BootBench(root: root, catalog: try AppCatalog.load(root: root), qemu: qemu, builder: builder)
  }

  /// A class's prepared bench, or the test fails with the build's output.
  static func unwrap(_ prepared: Result<BootBench, any Error>) throws -> BootBench {
    switch prepared {
    case .success(let bench): return bench
    case .failure(let error):
      let text = (error as? ExoFailure).map { [$0.detail, $0.description].compactMap { $0 }.joined(separator: "\n") }
      XCTFail(text ?? "\(error)")
      throw error
    }
  }

  /// Links `apps` (each `NAME[:ARG][@SLICES]`) into their slots and boots
  /// them under TCG (plain, or with -icount for exact instruction budgets)
  /// with a hard 60 s timeout; the serial console reads `input`, this
  /// process's stdin as `exo boot` relays it, or nothing.
  /// `held`: 1-based positions of apps that wait for `env_start` (`--held`).
  func boot(
    _ apps: [String], accel: Accel = .tcg, memoryMiB: Int = 256, held: [Int] = [], input: String? = nil,
    relayInput: Bool = false
  ) throws -> BootResult {
    var choices = try apps.map { try AppChoice.parse($0) }
    for position in held { choices[position - 1].held = true }
    let plan = try BootPlan(root: root, catalog: catalog, apps: choices, accel: accel, memoryMiB: memoryMiB)
    try builder.link(plan.modules)
    return try plan.boot(qemu: qemu, timeout: 60, input: input, relayInput: relayInput)
  }

  /// An env's benchmark JSON line, joined again if the console cut it.
  static func jsonLine(of app: String, in lines: [String]) -> String? {
    let texts = lines.compactMap { line -> String? in
      if case .env(let name, _, let text) = ConsoleLine(line), name == app { return text }
      return nil
    }
    guard let start = texts.firstIndex(where: { $0.hasPrefix("{\"bench\"") }) else { return nil }
    var joined = ""
    for text in texts[start...] {
      joined += text
      if (try? JSONSerialization.jsonObject(with: Data(joined.utf8))) != nil { return joined }
    }
    return nil
  }
}
