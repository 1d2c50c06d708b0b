// Tests that keep the project's single sources honest: the kernel-call
// reference page against the table, Package.swift's app list against apps/,
// the sockets C header against the functions that implement it, and the
// kernel binary against the rule that it never touches FP/SSE.
import ExoHost
import Foundation
import SecureBindings
import XCTest

final class ProjectDriftTests: XCTestCase {
  private var root: URL {
    get throws { try PackageRoot.find(from: URL(fileURLWithPath: #filePath).deletingLastPathComponent()) }
  }

  func testKernelCallReferenceMatchesTheTable() throws {
    let page = try String(contentsOf: try root.appendingPathComponent(KernelCallReference.path), encoding: .utf8)
    XCTAssertEqual(page, KernelCallReference.markdown(), "papers/kernel-calls.md is stale: run `swift run exo abi`")
    for call in KernelCall.allCases {
      XCTAssertTrue(page.contains("| \(call.rawValue) | `\(call.spec.name)` |"), "\(call) missing")
    }
  }

  func testPackageListsEveryAppFolder() throws {
    let manifest = try String(contentsOf: try root.appendingPathComponent("Package.swift"), encoding: .utf8)
    let line = try XCTUnwrap(manifest.split(separator: "\n").first { $0.hasPrefix("let appNames = [") })
    let listed = line.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
    let catalog = try AppCatalog.load(root: try root)
    XCTAssertEqual(listed.sorted(), catalog.names.sorted(), "Package.swift's appNames and apps/*/app.manifest differ")
  }

  /// Every function exo_sockets.h declares is exported under that name by
  /// SocketsC.swift, with as many parameters, and nothing else is.
  func testSocketsHeaderMatchesTheExportedFunctions() throws {
    let header = try String(contentsOf: try root.appendingPathComponent("libos-net/include/exo_sockets.h"), encoding: .utf8)
    let swift = try String(contentsOf: try root.appendingPathComponent("libos-net/runtime/SocketsC.swift"), encoding: .utf8)
    func arity(_ parameters: Substring) -> Int { parameters.trimmingCharacters(in: .whitespaces).isEmpty ? 0 : parameters.split(separator: ",").count }
    var declared: [String: Int] = [:]
    for line in header.split(separator: "\n") where line.hasSuffix(");") && line.contains("exo_") && !line.hasPrefix(" ") {
      let open = try XCTUnwrap(line.firstIndex(of: "("))
      let name = try XCTUnwrap(line[..<open].split(separator: " ").last).trimmingCharacters(in: CharacterSet(charactersIn: "*"))
      declared[name] = arity(line[line.index(after: open)..<(try XCTUnwrap(line.lastIndex(of: ")")))])
    }
    var exported: [String: Int] = [:]
    let parts = swift.components(separatedBy: "@_cdecl(\"").dropFirst()
    for part in parts {
      let name = String(part.prefix { $0 != "\"" })
      let signature = try XCTUnwrap(part.range(of: "func \(name)("))
      let rest = part[signature.upperBound...]
      var depth = 1
      var end = rest.startIndex
      for i in rest.indices {
        if rest[i] == "(" { depth += 1 } else if rest[i] == ")" { depth -= 1 }
        if depth == 0 { end = i; break }
      }
      exported[name] = arity(rest[..<end])
    }
    XCTAssertEqual(declared.count, 11, "\(declared)")
    XCTAssertEqual(declared, exported)
  }

  /// The kernel is built with -mno-sse -mno-mmx and must not use FP/SSE
  /// registers: it does not save the envs' FP state on kernel entry.
  /// FXSAVE/FXRSTOR (the env switch) are the only FP instructions allowed.
  func testKernelBinaryHasNoFloatingPointOrSSEInstructions() throws {
    let root = try root
    let toolchain = try Toolchain.find()
    try ImageBuilder(root: root, toolchain: toolchain).buildKernel()
    let process = Process()
    process.executableURL = toolchain.objdump
    process.arguments = ["-d", "--no-show-raw-insn", root.appendingPathComponent(BuildPlan.kernelImage).path]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0)
    let instructions: [Substring] = text.split(separator: "\n").filter { (line: Substring) -> Bool in
      let trimmed = line.drop { $0 == " " }
      guard let colon = trimmed.firstIndex(of: ":") else { return false }
      return !trimmed[..<colon].isEmpty && trimmed[..<colon].allSatisfy(\.isHexDigit) && line.contains("\t")
    }
    XCTAssertGreaterThan(instructions.count, 1000, "the disassembly looks empty")
    let offending = instructions.filter { line in
      let text = line.lowercased()
      if text.contains("fxsave") || text.contains("fxrstor") { return false }
      return text.contains("%xmm") || text.contains("%ymm") || text.contains("%mm") || text.contains("%st")
        || text.contains("\tfld") || text.contains("\tfst") || text.contains("\tfild") || text.contains("\tfistp")
    }
    XCTAssertEqual(offending.count, 0, offending.prefix(10).joined(separator: "\n"))
  }
}
