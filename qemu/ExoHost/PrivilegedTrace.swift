// The hardware-free half of `exo bench privileged`: which instructions are
// privileged (read from `llvm-objdump -d` text of the kernel and app ELFs),
// and a streaming count of them over QEMU's exec log (`-singlestep -d
// exec,nochain`: one `Trace` line per executed guest instruction). Under
// icount each counts one instruction; this says which of them are the ones
// that cost far more on hardware (CR3 writes, `invlpg`, mode switches).

import Foundation

/// What a traced instruction is, for counting.
public enum InstructionKind: String, Sendable, CaseIterable {
  case cr3Write = "cr3_write"
  case invlpg, iretq, sysretq, syscall, swapgs
  case fxsave, fxrstor
  case wrmsr, rdmsr, cli, sti, hlt
  case portIO = "port_io"
  /// `mov %crN, REG`: the page-fault path's CR2, a CR3 compared before it is written.
  case crRead = "cr_read"
  /// Other ring-0-only instructions: other control and debug registers, descriptor tables, `wbinvd`.
  case otherPrivileged = "other_privileged"
  /// Timing points, not counted as privileged.
  case rdtsc

  /// The kind of one objdump instruction text (`movq %rax, %cr3`), or nil for an ordinary one.
  public static func classify(_ text: String) -> InstructionKind? {
    let parts = text.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" })
    guard let first = parts.first else { return nil }
    var mnemonic = first.lowercased()
    var operands = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces).lowercased() : ""
    // A prefix (`rep`, `lock`) is its own word in objdump's text.
    if ["rep", "repe", "repz", "repne", "repnz", "lock"].contains(mnemonic) {
      let rest = operands.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" })
      mnemonic = rest.first.map(String.init) ?? mnemonic
      operands = rest.count > 1 ? String(rest[1]) : ""
    }
    if let operandComment = operands.range(of: "#") { operands = String(operands[..<operandComment.lowerBound]) }
    operands = operands.trimmingCharacters(in: .whitespaces)
    switch mnemonic {
    case "invlpg": return .invlpg
    case "iretq", "iret", "iretl": return .iretq
    case "sysretq", "sysret", "sysretl": return .sysretq
    case "syscall": return .syscall
    case "swapgs": return .swapgs
    case "fxsave", "fxsave64", "fxsaveq", "xsave", "xsave64", "xsaveopt", "xsaveopt64", "xsavec", "xsaves": return .fxsave
    case "fxrstor", "fxrstor64", "fxrstorq", "xrstor", "xrstor64", "xrstors": return .fxrstor
    case "wrmsr": return .wrmsr
    case "rdmsr": return .rdmsr
    case "cli": return .cli
    case "sti": return .sti
    case "hlt": return .hlt
    case "rdtsc": return .rdtsc
    case "in", "inb", "inw", "inl", "out", "outb", "outw", "outl", "insb", "insw", "insl", "outsb", "outsw", "outsl":
      return .portIO
    case "lgdt", "lgdtq", "lidt", "lidtq", "ltr", "lldt", "wbinvd", "invd", "clts", "invpcid", "lmsw":
      return .otherPrivileged
    default: break
    }
    if mnemonic.hasPrefix("mov") {
      let targets = operands.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
      if targets.last == "%cr3" { return .cr3Write }
      if targets.count == 2, targets[0].hasPrefix("%cr") { return .crRead }
      if targets.contains(where: { $0.hasPrefix("%cr") || $0.hasPrefix("%db") || $0.hasPrefix("%dr") }) {
        return .otherPrivileged
      }
    }
    return nil
  }
}

/// Every instruction address of the traced ELFs, with the kinds that matter.
public struct InstructionMap: Sendable {
  /// Address to kind; an ordinary instruction maps to nil.
  public private(set) var kinds: [UInt64: InstructionKind?] = [:]
  /// Symbol name to its address (`exo_bench_trace_mark`), from the first
  /// text that names it: add the benchmark's own image first, since every
  /// app links the same runtime.
  public private(set) var symbols: [String: UInt64] = [:]
  /// The indirect calls in the libOS's exception entry (`exo_exception_entry`):
  /// the instruction after one is the first of the vector's handler.
  public private(set) var handlerCallSites: Set<UInt64> = []
  var currentSymbol = ""

  public init() {}

  /// The address of the one symbol whose name contains `name` (Swift mangles
  /// the rest around it), or nil when none or several do.
  public func symbol(containing name: String) -> UInt64? {
    let found = symbols.filter { $0.key.contains(name) }
    return found.count == 1 ? found.first?.value : nil
  }

  /// Adds one `llvm-objdump -d --no-show-raw-insn` output. Lines it cannot
  /// read (headers, blank lines, a truncated tail) are skipped.
  public mutating func add(objdump text: String) {
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) { addLine(String(line)) }
  }

  mutating func addLine(_ line: String) {
    // `ffffffff80100000 <kmain>:` names a symbol.
    if line.hasSuffix(">:"), let open = line.firstIndex(of: "<"), let address = UInt64(line[..<open].trimmingCharacters(in: .whitespaces), radix: 16) {
      let name = line[line.index(after: open)..<line.index(line.endIndex, offsetBy: -2)]
      if symbols[String(name)] == nil { symbols[String(name)] = address }
      currentSymbol = String(name)
      return
    }
    // `ffffffff80100000: \tmovq %rax, %cr3`
    guard let colon = line.firstIndex(of: ":") else { return }
    let head = line[..<colon].trimmingCharacters(in: .whitespaces)
    guard !head.isEmpty, head.count <= 16, let address = UInt64(head, radix: 16) else { return }
    let text = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    guard !text.isEmpty, !text.hasPrefix("<") else { return }
    kinds[address] = .some(InstructionKind.classify(text))
    if currentSymbol == "exo_exception_entry", text.hasPrefix("call"), text.contains("*") {
      handlerCallSites.insert(address)
    }
  }
}

/// One timing point or mark seen in the trace, with the counts up to it.
public struct TracePoint: Sendable, Equatable {
  /// `returnToUser`: an `iretq` or `sysretq` (where a kernel visit ends).
  public enum What: Sendable, Equatable { case rdtsc, mark, returnToUser }
  public let what: What
  public let pc: UInt64
  /// The instruction's position in the trace (0 is the first `Trace` line).
  public let position: UInt64
  /// Counts of every kind before this instruction, indexed like `InstructionKind.allCases`.
  public let counts: [UInt64]
  /// Trace lines before this one whose address no ELF knows (BIOS, a bad line).
  public let unknown: UInt64

  public init(what: What, pc: UInt64, position: UInt64, counts: [UInt64], unknown: UInt64) {
    self.what = what
    self.pc = pc
    self.position = position
    self.counts = counts
    self.unknown = unknown
  }

  public var isKernel: Bool { pc >= 0xffff_8000_0000_0000 }
}

/// Reads an exec log as it arrives, a chunk of bytes at a time, keeping
/// only running counts and the timing points (not the log).
public struct TraceScanner {
  public let map: InstructionMap
  public let markAddress: UInt64?
  public private(set) var points: [TracePoint] = []
  /// Positions of the first kernel instruction after a user one, other than
  /// SYSCALL's entry: an exception or interrupt coming in; the user
  /// instruction before it is the one that faulted (or was interrupted).
  public private(set) var kernelEntries: [UInt64] = []
  /// Positions of the exception entry's call to the vector's handler.
  public private(set) var handlerCalls: [UInt64] = []
  let syscallEntry: UInt64?
  var lastWasUser = false
  public private(set) var position: UInt64 = 0
  public private(set) var unknown: UInt64 = 0
  /// Lines that start like a `Trace` line but do not read as one.
  public private(set) var malformed: UInt64 = 0
  /// `Stopped execution` lines that took back the instruction logged before them.
  public private(set) var retracted: UInt64 = 0
  var counts = [UInt64](repeating: 0, count: InstructionKind.allCases.count)
  var pending: [UInt8] = []
  /// The last counted line, so that a `Stopped execution` line can take it back.
  var last: (pc: UInt64, kind: InstructionKind??, points: Int, wasUser: Bool, entries: Int, calls: Int)? = nil

  public init(map: InstructionMap, markSymbol: String = "exo_bench_trace_mark") {
    self.map = map
    self.markAddress = map.symbol(containing: markSymbol)
    self.syscallEntry = map.symbols["syscall_entry"]
  }

  public mutating func feed(_ chunk: [UInt8]) {
    chunk.withUnsafeBufferPointer { feed($0) }
  }

  /// Complete lines are read in place; a line cut by the chunk's end waits in `pending`.
  public mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) {
    var start = 0
    var i = 0
    let newline = UInt8(ascii: "\n")
    while i < bytes.count {
      if bytes[i] == newline {
        if pending.isEmpty {
          line(UnsafeBufferPointer(rebasing: bytes[start..<i]))
        } else {
          if pending.count < 512 { pending.append(contentsOf: bytes[start..<min(i, start + 512)]) }
          pending.withUnsafeBufferPointer { line($0) }
          pending.removeAll(keepingCapacity: true)
        }
        start = i + 1
      }
      i += 1
    }
    if start < bytes.count && pending.count < 512 {
      pending.append(contentsOf: bytes[start..<min(bytes.count, start + 512)])
    }
  }

  /// The last line, when the log did not end with a newline.
  public mutating func finish() {
    if !pending.isEmpty { pending.withUnsafeBufferPointer { line($0) } }
    pending.removeAll()
  }

  static let tracePrefix = Array("Trace ".utf8)
  static let stoppedPrefix = Array("Stopped execution of TB chain before ".utf8)
  static let rewoundPrefix = Array("cpu_io_recompile: rewound execution of TB to ".utf8)

  /// `Trace 0: 0x7f4f48000100 [00000000ffff0000/00000000fffffff0/00000040/ff020201] sym`
  mutating func line(_ bytes: UnsafeBufferPointer<UInt8>) {
    if bytes.starts(with: Self.stoppedPrefix), let open = bytes.firstIndex(of: UInt8(ascii: "[")) {
      retract(bytes, from: open + 1, until: UInt8(ascii: "]"))
      return
    }
    if bytes.starts(with: Self.rewoundPrefix) {
      retract(bytes, from: Self.rewoundPrefix.count, until: nil)
      return
    }
    guard bytes.count > Self.tracePrefix.count, bytes[0] == UInt8(ascii: "T"), bytes.starts(with: Self.tracePrefix)
    else { return }
    guard let pc = Self.pc(in: bytes) else {
      malformed += 1
      return
    }
    if pc == markAddress {
      points.append(TracePoint(what: .mark, pc: pc, position: position, counts: counts, unknown: unknown))
    }
    let kind = map.kinds[pc]
    last = (pc, kind, points.count, lastWasUser, kernelEntries.count, handlerCalls.count)
    let isUser = pc < 0xffff_8000_0000_0000
    if lastWasUser && !isUser && pc != syscallEntry { kernelEntries.append(position) }
    if map.handlerCallSites.contains(pc) { handlerCalls.append(position) }
    lastWasUser = isUser
    switch kind {
    case .none: unknown += 1
    case .some(.none): break
    case .some(.some(let kind)):
      if kind == .rdtsc || kind == .iretq || kind == .sysretq {
        points.append(
          TracePoint(
            what: kind == .rdtsc ? .rdtsc : .returnToUser, pc: pc, position: position, counts: counts, unknown: unknown))
      }
      counts[Self.index(kind)] += 1
    }
    position += 1
  }

  /// `Stopped execution of TB chain before 0x7f... [ffffffff80118c35] `:
  /// under icount QEMU logs a block and then finds its instruction budget
  /// spent (a timer is due) before running it; `cpu_io_recompile: rewound
  /// execution of TB to ffffffff80110c73`: an instruction touched a device
  /// (the APIC) where icount cannot yet, and is translated again. Either
  /// way the instruction runs, and is logged, again later, so the line
  /// before, at the same address, did not run.
  mutating func retract(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, until end: UInt8?) {
    guard let last else { return }
    var value: UInt64 = 0
    var i = start
    while i < bytes.count, let digit = Self.hexDigit(bytes[i]) {
      value = value << 4 | digit
      i += 1
    }
    if let end { guard i < bytes.count, bytes[i] == end else { return } }
    guard i > start, value == last.pc else { return }
    switch last.kind {
    case .none: unknown -= 1
    case .some(.none): break
    case .some(.some(let kind)): counts[Self.index(kind)] -= 1
    }
    points.removeSubrange(last.points...)
    kernelEntries.removeSubrange(last.entries...)
    handlerCalls.removeSubrange(last.calls...)
    lastWasUser = last.wasUser
    position -= 1
    retracted += 1
    self.last = nil
  }

  static func hexDigit(_ byte: UInt8) -> UInt64? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt64(byte - UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt64(byte - UInt8(ascii: "a") + 10)
    default: return nil
    }
  }

  static func index(_ kind: InstructionKind) -> Int { InstructionKind.allCases.firstIndex(of: kind) ?? 0 }

  /// The second field inside the brackets: the guest pc, in hex.
  static func pc(in bytes: UnsafeBufferPointer<UInt8>) -> UInt64? {
    var i = 0
    while i < bytes.count && bytes[i] != UInt8(ascii: "[") { i += 1 }
    while i < bytes.count && bytes[i] != UInt8(ascii: "/") { i += 1 }
    i += 1
    var value: UInt64 = 0
    var digits = 0
    while i < bytes.count {
      let byte = bytes[i]
      i += 1
      if byte == UInt8(ascii: "/") { return digits > 0 ? value : nil }
      guard let digit = hexDigit(byte) else { return nil }
      digits += 1
      if digits > 16 { return nil }
      value = value << 4 | digit
    }
    return nil  // no closing slash: a truncated line
  }
}
