// trap.S's transfer fast path and the Swift kernel share one record per env
// (exo/arch/x86_64/asm/include/transfer.h); the assembly reads it at the
// header's T_* offsets, the trap frame at TF_*, and copies T_ID..T_SHARED_PAGE
// onto trap.S's syscall_env_id..upcall_argument as one block. This keeps
// those offsets equal to the struct declarations they stand for, and the
// numbers the header and pct.S spell equal to their Swift sources.
import ExoHost
import Foundation
import SecureBindings
import UserArch
import XCTest

final class TransferLayoutTests: XCTestCase {
  private func source(_ path: String) throws -> String {
    let root = try PackageRoot.find(from: URL(fileURLWithPath: #filePath).deletingLastPathComponent())
    return try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
  }

  /// `#define NAME value` lines whose name starts with `prefix`.
  private func defines(_ text: String, prefix: String) -> [String: Int] {
    var found: [String: Int] = [:]
    for line in text.split(separator: "\n") where line.hasPrefix("#define \(prefix)") {
      let parts = line.dropFirst(8).split(separator: " ", omittingEmptySubsequences: true)
      guard parts.count >= 2, let value = Int(parts[1]) else { continue }
      found[String(parts[0])] = value
    }
    return found
  }

  /// The uint64_t fields of `struct name { ... };`, in order.
  private func fields(_ text: String, of name: String) throws -> [String] {
    let start = try XCTUnwrap(text.range(of: "struct \(name) {"))
    let end = try XCTUnwrap(text.range(of: "};", range: start.upperBound..<text.endIndex))
    return text[start.upperBound..<end.lowerBound]
      .replacingOccurrences(of: "uint64_t", with: "")
      .split(whereSeparator: { ";,\n".contains($0) })
      .map { $0.trimmingCharacters(in: .whitespaces) }
      .filter { !$0.isEmpty }
  }

  func testRecordOffsetsMatchTheStruct() throws {
    let header = try source("exo/arch/x86_64/asm/include/transfer.h")
    let offsets = defines(header, prefix: "T_")
    let names = try fields(header, of: "env_transfer")
    XCTAssertEqual(offsets.count, names.count + 1, "one T_ offset per field, and T_SIZE")
    for (i, name) in names.enumerated() {
      XCTAssertEqual(offsets["T_" + name.uppercased()], 8 * i, name)
    }
    XCTAssertEqual(offsets["T_SIZE"], 8 * names.count)
  }

  func testTrapFrameOffsetsMatchTheStruct() throws {
    let frame = try fields(try source("exo/arch/x86_64/asm/include/x86.h"), of: "trap_frame")
    let offsets = defines(try source("exo/arch/x86_64/asm/include/transfer.h"), prefix: "TF_")
    XCTAssertFalse(offsets.isEmpty)
    for (name, offset) in offsets where name != "TF_SIZE" {
      let field = String(name.dropFirst(3)).lowercased()
      XCTAssertEqual(frame.firstIndex(of: field).map { 8 * $0 }, offset, name)
    }
    XCTAssertEqual(offsets["TF_SIZE"], 8 * frame.count)
  }

  /// The block a transfer copies: the record's order is trap.S's order.
  func testUpcallWordsAreOneBlockInBothPlaces() throws {
    let offsets = defines(try source("exo/arch/x86_64/asm/include/transfer.h"), prefix: "T_")
    let record = ["T_ID", "T_UPCALL_SHARED", "T_EXCEPTION_ENTRY", "T_EXCEPTION_STACK", "T_SHARED_PAGE"]
    for (i, name) in record.enumerated() { XCTAssertEqual(offsets[name], offsets["T_ID"].map { $0 + 8 * i }, name) }
    let trap = try source("exo/arch/x86_64/asm/trap.S")
    let labels = trap.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
    let globals = ["syscall_env_id", "upcall_shared", "upcall_entry", "upcall_stack", "upcall_argument"]
    var at = try XCTUnwrap(labels.firstIndex { $0.hasPrefix("syscall_env_id:") })
    for name in globals {
      XCTAssertTrue(labels[at].hasPrefix("\(name):"), "\(name) in order, at \(labels[at])")
      XCTAssertTrue(labels[at + 1].hasPrefix(".skip 8"), name)
      at += 2
      while at < labels.count, labels[at].hasPrefix(".globl") || labels[at].hasPrefix("/*") || labels[at].hasPrefix("*") {
        at += 1
      }
    }
  }

  func testNumbersMatchTheirSources() throws {
    let header = try source("exo/arch/x86_64/asm/include/transfer.h")
    let limits = try source("exo/Limits.swift")
    let env = try source("exo/Env.swift")
    let maxEnvs = defines(header, prefix: "ENV_MAX")["ENV_MAX"]
    XCTAssertTrue(limits.contains("static let maxEnvs = \(try XCTUnwrap(maxEnvs))"))
    let runnable = try XCTUnwrap(defines(header, prefix: "ENV_STATE_RUNNABLE")["ENV_STATE_RUNNABLE"])
    XCTAssertTrue(env.contains("case runnable = \(runnable)"))
    XCTAssertTrue(env.contains("case free = 0"), "a record never written reads as free")
    XCTAssertEqual(UInt64(EXO_PCT_REPLY), KernelCall.pctReply.rawValue)
  }

  /// T_SERVING holds the caller's id in its low byte (trap.S's reply reads
  /// it with movzbl) and SERVING_ASYNC above it: the flag must clear every
  /// id, and every id fit below it.
  func testServingAsyncFlagLiesAboveEveryEnvID() throws {
    let header = try source("exo/arch/x86_64/asm/include/transfer.h")
    let flag = try XCTUnwrap(defines(header, prefix: "SERVING_ASYNC")["SERVING_ASYNC"])
    let maxEnvs = try XCTUnwrap(defines(header, prefix: "ENV_MAX")["ENV_MAX"])
    XCTAssertLessThanOrEqual(maxEnvs, 0xff, "an id fits the byte the reply reads")
    XCTAssertEqual(flag & 0xff, 0, "the flag clears the id's byte")
    XCTAssertEqual(flag & (flag - 1), 0, "one bit")
  }
}
