// trap.S's SYSCALL fast paths spell numbers from the Swift side in
// assembly: the call answered in assembly, the calls that skip the register
// frame, the transfers with their own lean entry, the RFLAGS bits an env may keep, and the first address past the
// user half (which also guards SYSRET against a non-canonical RCX), and
// what the map and protect fast paths check against. This keeps them equal
// to their single sources.
import ExoHost
import Foundation
import SecureBindings
import XCTest

final class FastPathDriftTests: XCTestCase {
  private func constants(_ file: String = "trap.S") throws -> [String: UInt64] {
    let root = try PackageRoot.find(from: URL(fileURLWithPath: #filePath).deletingLastPathComponent())
    let source = try String(contentsOf: root.appendingPathComponent("exo/arch/x86_64/asm/\(file)"), encoding: .utf8)
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
  }

  /// What map_fast and protect_fast check against, spelled in trap.S: the
  /// frame tables' size (storage.S sizes them), the user half's bounds, the
  /// page-table view's slot, the direct map (Machine.directMapBase, which
  /// boot.S maps), and the leaf bits per rights (PageTableEntry.leaf:
  /// present and user, writable with write, no-execute without execute).
  func testMapFastPathConstantsMatchTheirSources() throws {
    let c = try constants()
    XCTAssertEqual(c["MAX_FRAMES"], try constants("storage.S")["MAX_FRAMES"])
    XCTAssertEqual(c["USER_LOWEST"], UserSpace.lowest)
    XCTAssertEqual(c["VIEW_SLOT"], UserSpace.pageTableViewSlot)
    XCTAssertEqual(c["DIRECT_MAP"], 0xffff_8000_0000_0000)
    let present: UInt64 = 1, writable: UInt64 = 2, user: UInt64 = 4, noExecute: UInt64 = 1 << 63
    for (name, rights) in [("LEAF_READ", PageRights.readOnly), ("LEAF_WRITE", .write), ("LEAF_EXECUTE", .execute)] {
      let leaf = present | user | (rights.writable ? writable : 0) | (rights.executable ? 0 : noExecute)
      XCTAssertEqual(c[name], leaf, name)
      XCTAssertEqual(rights.raw, ["LEAF_READ": 0, "LEAF_WRITE": 1, "LEAF_EXECUTE": 2][name], "leaf_bits is indexed by PageRights.raw")
    }
    XCTAssertEqual(c["LEAF_WRITE_EXECUTE"], present | user | writable)
    // UserMode.userFlags (kernel-only): CF PF AF ZF SF TF DF OF AC ID.
    let flags: UInt64 = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x4_0000 | 0x20_0000
    XCTAssertEqual(c["USER_FLAGS"], flags)
    XCTAssertEqual(flags & 0x3200, 0, "never IOPL, never IF from the env")
  }

  /// The calls trap.S sends to exo_fast_call without saving the register
  /// frame: each must return to its caller with no env switch and no upcall
  /// to the caller (exo/KernelCalls.swift `dispatch` handles the others).
  /// quota_lower and env_start may signal the caller itself (an event upcall), and the
  /// network's calls may deliver to the caller's own ring: both stay out.
  func testFastCallsAreTheCallsThatReturnToTheirCaller() throws {
    let returning: [KernelCall] = [
      .consoleWrite, .frameAlloc, .frameFree, .map, .mapTable, .unmap, .protect, .mapBatch,
      .setExceptionHandler, .frameGrant, .frameRevoke, .pctListen, .eventListen, .eventSignal,
      .irqBind, .consoleRead, .timerArm, .timerCancel,
    ]
    let mayTransfer: [KernelCall] = [.exit, .yield, .pctCall, .pctSend, .pctReply, .eventWait, .quotaLower, .envStart]
    XCTAssertTrue(Set(returning).isDisjoint(with: mayTransfer))
    let mask = returning.reduce(UInt64(0)) { $0 | 1 << $1.rawValue }
    XCTAssertEqual(try constants()["FAST_CALLS"], mask)
    XCTAssertEqual(mask & (1 << KernelCall.envSelf.rawValue), 0, "env_self has its own path, before this one")
  }
}
