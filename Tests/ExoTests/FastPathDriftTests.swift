// trap.S's SYSCALL fast paths spell numbers from the Swift side in
// assembly: the call answered in assembly, the calls that skip the register
// frame, the transfers with their own lean entry, the RFLAGS bits an env may keep, and the first address past the
// user half (which also guards SYSRET against a non-canonical RCX). This
// keeps them equal to their single sources.
import ExoHost
import Foundation
import SecureBindings
import XCTest

final class FastPathDriftTests: XCTestCase {
  private func constants() throws -> [String: UInt64] {
    let root = try PackageRoot.find(from: URL(fileURLWithPath: #filePath).deletingLastPathComponent())
    let source = try String(contentsOf: root.appendingPathComponent("exo/arch/x86_64/asm/trap.S"), encoding: .utf8)
    var found: [String: UInt64] = [:]
    for line in source.split(separator: "\n") where line.hasPrefix(".set ") {
      let parts = line.dropFirst(5).split(separator: "/*")[0].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
      guard parts.count == 2 else { continue }
      let text = parts[1]
      found[parts[0]] = text.hasPrefix("0x") ? UInt64(text.dropFirst(2), radix: 16) : UInt64(text)
    }
    return found
  }

  func testFastPathConstantsMatchTheirSources() throws {
    let c = try constants()
    XCTAssertEqual(c["ENV_SELF_CALL"], KernelCall.envSelf.rawValue)
    XCTAssertEqual(c["USER_TOP"], UserSpace.top)
    XCTAssertEqual(c["PCT_CALL"], KernelCall.pctCall.rawValue)
    XCTAssertEqual(c["PCT_SEND"], KernelCall.pctSend.rawValue)
    XCTAssertEqual(c["PCT_REPLY"], KernelCall.pctReply.rawValue)
    XCTAssertEqual(c["MAP_CALL"], KernelCall.map.rawValue)
    XCTAssertEqual(c["PROTECT_CALL"], KernelCall.protect.rawValue)
    // UserMode.userFlags (kernel-only): CF PF AF ZF SF TF DF OF AC ID.
    let flags: UInt64 = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x4_0000 | 0x20_0000
    XCTAssertEqual(c["USER_FLAGS"], flags)
    XCTAssertEqual(flags & 0x3200, 0, "never IOPL, never IF from the env")
  }

  /// The calls trap.S sends to exo_fast_call without saving the register
  /// frame: each must return to its caller with no env switch and no upcall
  /// to the caller (exo/KernelCalls.swift `dispatch` handles the others).
  /// quota_lower may signal the caller itself (an event upcall), and the
  /// network's calls may deliver to the caller's own ring: both stay out.
  func testFastCallsAreTheCallsThatReturnToTheirCaller() throws {
    let returning: [KernelCall] = [
      .consoleWrite, .frameAlloc, .frameFree, .map, .mapTable, .unmap, .protect, .mapBatch,
      .setExceptionHandler, .frameGrant, .frameRevoke, .pctListen, .eventListen, .eventSignal,
      .irqBind, .consoleRead, .timerArm, .timerCancel,
    ]
    let mayTransfer: [KernelCall] = [.exit, .yield, .pctCall, .pctSend, .pctReply, .eventWait, .quotaLower]
    XCTAssertTrue(Set(returning).isDisjoint(with: mayTransfer))
    let mask = returning.reduce(UInt64(0)) { $0 | 1 << $1.rawValue }
    XCTAssertEqual(try constants()["FAST_CALLS"], mask)
    XCTAssertEqual(mask & (1 << KernelCall.envSelf.rawValue), 0, "env_self has its own path, before this one")
  }
}
