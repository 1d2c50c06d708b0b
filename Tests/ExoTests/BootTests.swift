// Boot tests: build the kernel and apps once, boot them in QEMU under TCG through
// ExoHost, and check what they print (one class, so they run one at a time).
import ExoHost
import Foundation
import XCTest

final class BootTests: XCTestCase {
  /// Built once per test run and shared by every boot test.
  private static let prepared: Result<BootBench, any Error> = Result {
    try BootBench.prepare(apps: ["hello", "counter"])
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

  /// Links `apps` into their slots and boots them under TCG with a hard 60 s timeout.
  private func boot(_ apps: String...) throws -> BootResult {
    let bench: BootBench
    switch Self.prepared {
    case .success(let prepared): bench = prepared
    case .failure(let error):
      let text = (error as? ExoFailure).map { [$0.detail, $0.description].compactMap { $0 }.joined(separator: "\n") }
      XCTFail(text ?? "\(error)")
      throw error
    }
    let plan = try BootPlan(
      root: bench.root, catalog: bench.catalog, apps: apps.map { AppChoice(name: $0) }, accel: .tcg)
    try bench.builder.link(plan.modules)
    return try plan.boot(qemu: bench.qemu, timeout: 60)
  }
}

/// What every boot test shares: the package, its apps, QEMU and the built images.
private struct BootBench: Sendable {
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
}
