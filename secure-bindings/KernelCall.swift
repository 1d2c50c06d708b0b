// The kernel-call table: the one definition of exo's ABI. The kernel's
// dispatcher switches over `KernelCall`, the user stubs pass its raw values,
// and papers/kernel-calls.md is generated from `spec` (a test keeps it honest).
//
// Calling convention (x86_64 SYSCALL): RAX = call number, arguments in
// RDI, RSI, RDX, R10, R8, R9. On return RAX = 0 or an `ExoError` raw value,
// RDX = the call's result value. RCX and R11 are clobbered (SYSCALL uses
// them); every other register is preserved.

public enum KernelCall: UInt64, CaseIterable, Sendable {
  case consoleWrite = 0
  case exit = 1
  case yield = 2
  case envSelf = 3
  case frameAlloc = 4
  case frameFree = 5
  case map = 6
  case mapTable = 7
  case unmap = 8
  case protect = 9
  case mapBatch = 10
  case setExceptionHandler = 11
  case frameGrant = 12
  case frameRevoke = 13
  case pctListen = 14
  case pctCall = 15
  case pctReply = 16
  case eventListen = 17
  case eventSignal = 18
  case eventWait = 19
  case irqBind = 20
  case consoleRead = 21
  case netAttach = 22
  case netBind = 23
  case netUnbind = 24
  case netSend = 25
  case timerArm = 26
  case timerCancel = 27
  case pctSend = 28
  case envStart = 29
  case quotaLower = 30
}

/// One argument of a kernel call, as the reference page shows it.
public struct KernelCallArgument: Sendable {
  public let name: StaticString
  public let meaning: StaticString
}

/// What the table says about one call: the reference page is printed from this.
public struct KernelCallSpec: Sendable {
  public let name: StaticString
  public let summary: StaticString
  public let arguments: [KernelCallArgument]
  public let result: StaticString
  public let errors: [ExoError]
}

extension KernelCall {
  /// The largest buffer one `consoleWrite` takes; the user stub loops for more.
  public static let consoleWriteLimit: UInt64 = 4096
  /// The most pages one `unmap`/`protect` or entries one `map_batch` takes.
  public static let batchLimit: UInt64 = 512

  /// What `pct_call` and `pct_send` take: the callee and three words.
  private static let transferArguments = [
    KernelCallArgument(name: "env", meaning: "the callee's env id"),
    KernelCallArgument(name: "word0", meaning: "passed in RSI"),
    KernelCallArgument(name: "word1", meaning: "passed in RDX"),
    KernelCallArgument(name: "word2", meaning: "passed in RCX"),
  ]

  public var spec: KernelCallSpec {
    switch self {
    case .consoleWrite:
      return KernelCallSpec(
        name: "console_write",
        summary: "Append bytes to the caller's console line; each newline emits one whole line prefixed by the env's name.",
        arguments: [
          KernelCallArgument(name: "buffer", meaning: "user address of the bytes"),
          KernelCallArgument(name: "length", meaning: "byte count, at most 4096"),
        ],
        result: "bytes taken",
        errors: [.badLength, .badAddress])
    case .exit:
      return KernelCallSpec(
        name: "exit",
        summary: "End the calling env; the kernel reports the status and returns every frame the env held.",
        arguments: [KernelCallArgument(name: "status", meaning: "exit status, reported in decimal (low 32 bits)")],
        result: "does not return",
        errors: [])
    case .yield:
      return KernelCallSpec(
        name: "yield",
        summary: "Give the rest of the slice to the next env in the slice vector.",
        arguments: [],
        result: "0",
        errors: [])
    case .envSelf:
      return KernelCallSpec(
        name: "env_self",
        summary: "Identify the caller.",
        arguments: [],
        result: "the caller's env id",
        errors: [])
    case .frameAlloc:
      return KernelCallSpec(
        name: "frame_alloc",
        summary: "Take a free frame, zeroed, charged to the caller's quota.",
        arguments: [],
        result: "a capability for the frame (frame number << 16 | generation)",
        errors: [.quotaExceeded, .noFrames])
    case .frameFree:
      return KernelCallSpec(
        name: "frame_free",
        summary: "Give a frame back; it must be mapped nowhere, granted to no one, and be no page table and no registered shared page.",
        arguments: [KernelCallArgument(name: "capability", meaning: "the frame's capability")],
        result: "0",
        errors: [.badCapability, .frameInUse])
    case .map:
      return KernelCallSpec(
        name: "map",
        summary: "Map a frame the caller holds at a page of its own address space, with the rights asked for (read is implied).",
        arguments: [
          KernelCallArgument(name: "address", meaning: "page-aligned user address, outside the page-table view"),
          KernelCallArgument(name: "capability", meaning: "the frame's capability"),
          KernelCallArgument(name: "rights", meaning: "1 = write, 2 = execute"),
        ],
        result: "0",
        errors: [.badAddress, .badArgument, .badCapability, .frameInUse, .needTable, .alreadyMapped])
    case .mapTable:
      return KernelCallSpec(
        name: "map_table",
        summary: "Install a frame the caller holds as the page table of the given level that covers an address; the kernel zeroes it, and from then on the frame cannot be mapped as data or freed.",
        arguments: [
          KernelCallArgument(name: "address", meaning: "a user address the table will cover"),
          KernelCallArgument(name: "level", meaning: "3 = PDPT, 2 = page directory, 1 = page table"),
          KernelCallArgument(name: "capability", meaning: "the frame's capability"),
        ],
        result: "0",
        errors: [.badAddress, .badArgument, .badCapability, .frameInUse, .needTable, .alreadyMapped])
    case .unmap:
      return KernelCallSpec(
        name: "unmap",
        summary: "Remove the mappings of consecutive pages; all must be mapped, or nothing changes. Invalidates exactly those TLB entries.",
        arguments: [
          KernelCallArgument(name: "address", meaning: "page-aligned user address"),
          KernelCallArgument(name: "pages", meaning: "1 to 512"),
        ],
        result: "0",
        errors: [.badAddress, .badLength, .notMapped])
    case .protect:
      return KernelCallSpec(
        name: "protect",
        summary: "Change the rights of consecutive mapped pages; all must be mapped, or nothing changes. Invalidates exactly those TLB entries.",
        arguments: [
          KernelCallArgument(name: "address", meaning: "page-aligned user address"),
          KernelCallArgument(name: "pages", meaning: "1 to 512"),
          KernelCallArgument(name: "rights", meaning: "1 = write, 2 = execute"),
        ],
        result: "0",
        errors: [.badAddress, .badLength, .badArgument, .notMapped])
    case .mapBatch:
      return KernelCallSpec(
        name: "map_batch",
        summary: "Perform `map` for each entry of an array of {address, capability, rights} (three 64-bit words), in order, stopping at the first that fails.",
        arguments: [
          KernelCallArgument(name: "entries", meaning: "user address of the array"),
          KernelCallArgument(name: "count", meaning: "1 to 512 entries"),
        ],
        result: "entries mapped; on any error, need_table included, the failing entry's index (a `map` of that entry then names the missing level)",
        errors: [.badAddress, .badLength, .badArgument, .badCapability, .frameInUse, .needTable, .alreadyMapped])
    case .setExceptionHandler:
      return KernelCallSpec(
        name: "set_exception_handler",
        summary: "Register the caller's exception upcall: on a user-mode exception the kernel writes the trap (vector, error code, CR2), RIP, RFLAGS, RSP and the registers it clobbers (RAX, RCX, RDI, R11) into the shared page, sets its upcalls-disabled word and enters the handler on the given stack with RDI = the shared page, RAX = the vector and RFLAGS = IF; every other register still holds the interrupted code's value, for the handler's entry to save what it needs. An exception while the word is set kills the env. A zero entry removes the handler.",
        arguments: [
          KernelCallArgument(name: "entry", meaning: "user address of the handler"),
          KernelCallArgument(name: "stack", meaning: "16-byte-aligned user address, the handler's initial RSP"),
          KernelCallArgument(name: "shared", meaning: "page-aligned user address of a writable page the caller has mapped, of a frame it owns"),
          KernelCallArgument(name: "flags", meaning: "1 = also upcall at the start of each of the env's slices, with vector 256 (ExceptionSlot.sliceStart) and the interrupted main context in the slot"),
        ],
        result: "0",
        errors: [.badAddress, .notMapped, .badCapability])
    case .frameGrant:
      return KernelCallSpec(
        name: "frame_grant",
        summary: "Let another env map a frame the caller owns, once, with at most the given rights; the grantee names it with the same capability. The owner can revoke the grant at any time, and exiting revokes all its grants.",
        arguments: [
          KernelCallArgument(name: "capability", meaning: "a frame the caller owns"),
          KernelCallArgument(name: "env", meaning: "the grantee's env id"),
          KernelCallArgument(name: "rights", meaning: "1 = write, 2 = execute"),
        ],
        result: "0",
        errors: [.badCapability, .badArgument, .noSuchEnv, .alreadyMapped, .frameInUse, .tableFull])
    case .frameRevoke:
      return KernelCallSpec(
        name: "frame_revoke",
        summary: "End a grant: the kernel removes the grantee's mapping of the frame, if it made one.",
        arguments: [
          KernelCallArgument(name: "capability", meaning: "a frame the caller owns"),
          KernelCallArgument(name: "env", meaning: "the grantee's env id"),
        ],
        result: "0",
        errors: [.badCapability, .noSuchEnv, .notMapped])
    case .pctListen:
      return KernelCallSpec(
        name: "pct_listen",
        summary: "Accept protected control transfers: calls from the envs in the mask enter at `entry`, on `stack`, in an activation of the caller's own (its main context is left as it was), with RDI = the caller's env id and RSI, RDX, RCX = the three words. A zero entry stops accepting.",
        arguments: [
          KernelCallArgument(name: "entry", meaning: "user address of the entry"),
          KernelCallArgument(name: "stack", meaning: "16-byte-aligned user address, the activation's initial RSP"),
          KernelCallArgument(name: "callers", meaning: "bit i set: env i may call"),
        ],
        result: "0",
        errors: [.badAddress])
    case .pctCall:
      return KernelCallSpec(
        name: "pct_call",
        summary: "Synchronous protected control transfer: move the CPU to the callee's entry with three words in registers, donating the rest of the caller's slice; the caller's main context waits and returns when the callee replies.",
        arguments: Self.transferArguments,
        result: "the word the callee replied with",
        errors: [.noSuchEnv, .badCapability, .busy])
    case .pctReply:
      return KernelCallSpec(
        name: "pct_reply",
        summary: "End the activation the caller is running and return a word to the env it serves, which runs next in the same slice.",
        arguments: [KernelCallArgument(name: "word", meaning: "the caller's result")],
        result: "does not return (to this activation)",
        errors: [.badArgument])
    case .eventListen:
      return KernelCallSpec(
        name: "event_listen",
        summary: "Name the envs that may signal the caller (a bit per env id); signals from others are refused. With flag 1, each delivery (a signal, a timer, a bound device) also upcalls the env's exception handler with vector 0x101 (EventSlot.delivery) when its upcalls are enabled and its main context is the one to run; the slot holds the interrupted context, as for a slice-start upcall.",
        arguments: [
          KernelCallArgument(name: "senders", meaning: "bit i set: env i may signal"),
          KernelCallArgument(name: "flags", meaning: "1 = upcall on delivery"),
        ],
        result: "0",
        errors: [.badArgument])
    case .eventSignal:
      return KernelCallSpec(
        name: "event_signal",
        summary: "Set event bits in another env's pending word, waking it if it waits.",
        arguments: [
          KernelCallArgument(name: "env", meaning: "the env to signal"),
          KernelCallArgument(name: "bits", meaning: "non-zero bits to set"),
        ],
        result: "0",
        errors: [.noSuchEnv, .badCapability, .badArgument])
    case .eventWait:
      return KernelCallSpec(
        name: "event_wait",
        summary: "Take the pending event bits, or wait until some arrive or the timeout passes; the rest of the slice goes to the next env, and a CPU with every env waiting halts until the next tick.",
        arguments: [KernelCallArgument(name: "timeout", meaning: "microseconds; 0 waits for an event only")],
        result: "the event bits taken (0 when the timeout passed)",
        errors: [.busy])
    case .irqBind:
      return KernelCallSpec(
        name: "irq_bind",
        summary: "Bind a device interrupt line to the caller, which alone then sees it: each firing sets the line's event bit (DeviceLine.eventBit) in its pending word. One env holds a line at a time; exit frees it.",
        arguments: [KernelCallArgument(name: "line", meaning: "4 = the serial console's receive line")],
        result: "0",
        errors: [.badArgument, .busy])
    case .consoleRead:
      return KernelCallSpec(
        name: "console_read",
        summary: "Take bytes the caller's bound serial line has received (up to 256 are kept; more are dropped).",
        arguments: [
          KernelCallArgument(name: "buffer", meaning: "user address of a writable buffer"),
          KernelCallArgument(name: "length", meaning: "at most 4096"),
        ],
        result: "bytes taken (0 if none waited)",
        errors: [.badLength, .badAddress])
    case .netAttach:
      return KernelCallSpec(
        name: "net_attach",
        summary: "Give the kernel the caller's receive ring (NetRing layout): frames the caller owns, pinned until exit. The kernel writes the env's MAC and IPv4 binding into the control page; each frame its filters claim is copied into the next slot and sets the network event bit (NetRing.eventBit).",
        arguments: [
          KernelCallArgument(name: "capabilities", meaning: "user address of an array of frame capabilities: the control page, then the slot frames"),
          KernelCallArgument(name: "count", meaning: "2 to 33 capabilities"),
        ],
        result: "slots in the ring",
        errors: [.noDevice, .busy, .badLength, .badAddress, .badCapability, .frameInUse])
    case .netBind:
      return KernelCallSpec(
        name: "net_bind",
        summary: "Bind a packet filter (PacketFilter encoding): verified once, it must prove the env's (MAC, IPv4) binding and may not overlap another env's filter; then the merged lookup sends the frames it matches to the caller's ring.",
        arguments: [
          KernelCallArgument(name: "program", meaning: "user address of the encoded filter"),
          KernelCallArgument(name: "length", meaning: "its length in bytes"),
        ],
        result: "the filter's id (for net_unbind); with bad_filter, the reason code",
        errors: [.noDevice, .badLength, .badAddress, .badFilter, .conflict, .tableFull])
    case .netUnbind:
      return KernelCallSpec(
        name: "net_unbind",
        summary: "Remove one of the caller's packet filters.",
        arguments: [KernelCallArgument(name: "filter", meaning: "an id net_bind returned")],
        result: "0",
        errors: [.badArgument])
    case .netSend:
      return KernelCallSpec(
        name: "net_send",
        summary: "Send one Ethernet frame: the kernel copies its first 128 bytes (all of a frame up to 256), checks its source MAC and IPv4 (or ARP sender) there against the env's binding, and queues it on the device with the rest read straight from the env's frames, pinned until the device is done. The env must not write into a sent buffer until the result says the send is done. Length 0 only reports.",
        arguments: [
          KernelCallArgument(name: "frame", meaning: "user address of the frame (no device header)"),
          KernelCallArgument(name: "length", meaning: "14 to 1514 bytes, or 0 to send nothing"),
        ],
        result: "how many of the env's sends, counted from its first, the device has finished reading",
        errors: [.noDevice, .badLength, .badAddress, .spoofed, .busy])
    case .pctSend:
      return KernelCallSpec(
        name: "pct_send",
        summary: "Asynchronous protected control transfer: move the CPU to the callee's entry with three words, as pct_call does, but the caller does not wait: its call has returned 0 when it next runs. The callee's pct_reply then drops the word and the turn goes on with its owner (the sender, or, if the activation outlasted the sender's turn, the callee, whose turns run the activation before its main context).",
        arguments: Self.transferArguments,
        result: "0",
        errors: [.noSuchEnv, .badCapability, .busy])
    case .timerArm:
      return KernelCallSpec(
        name: "timer_arm",
        summary: "Arm one of the caller's timers (at most 4): when the TSC reaches the deadline the kernel delivers the event bit as any event (pending word, the shared page's event counter, bits and interrupt TSC, and an upcall if asked for with event_listen); a CPU that halts wakes for the earliest deadline. A periodic timer then moves to its next deadline; periods missed meanwhile are merged.",
        arguments: [
          KernelCallArgument(name: "deadline", meaning: "TSC value (the time page's base), non-zero, at most one hour ahead; a past one fires at once"),
          KernelCallArgument(name: "period", meaning: "0 = one-shot, else TSC ticks from 50 µs to one hour"),
          KernelCallArgument(name: "bit", meaning: "0 to 63: the event bit it sets"),
        ],
        result: "the timer's id (for timer_cancel)",
        errors: [.badArgument, .tableFull])
    case .timerCancel:
      return KernelCallSpec(
        name: "timer_cancel",
        summary: "Disarm one of the caller's timers; a bit it already delivered stays pending.",
        arguments: [KernelCallArgument(name: "timer", meaning: "an id timer_arm returned, still armed")],
        result: "0",
        errors: [.badArgument])
    case .envStart:
      return KernelCallSpec(
        name: "env_start",
        summary: "Load and start a held env (held=1 in its boot configuration), one listed after the caller: boot order is the authority. From this call on its manifest's quota counts: when the live envs' quotas promise more frames than the machine has, each gets its share in proportion to its manifest (never below what its loader took, never above a quota_lower), and envs above their new quota are asked for the excess as quota_lower asks, with 8 turns. If the frames for its image are not free yet, the env stays held: call again once they are back.",
        arguments: [KernelCallArgument(name: "env", meaning: "the held env's id")],
        result: "0",
        errors: [.noSuchEnv, .badCapability, .noFrames, .quotaExceeded])
    case .quotaLower:
      return KernelCallSpec(
        name: "quota_lower",
        summary: "Lower an env's frame quota (itself, or an env started after the caller: boot order is the authority). If it holds more, the kernel asks it to give the excess back: the count goes into its shared page (RevocationPage.requested) and RevocationPage.eventBit into its pending events. It frees frames of its choice; once the deadline in its own turns has passed, the kernel takes the rest by force, newest unshared frames first, never page tables or pinned frames, unmapping them and revoking their grants, and writes each loss (capability, virtual address) into its repossession vector.",
        arguments: [
          KernelCallArgument(name: "env", meaning: "the env whose quota falls"),
          KernelCallArgument(name: "frames", meaning: "the new quota, at most the present one"),
          KernelCallArgument(name: "turns", meaning: "the deadline, 1 to 64 of the env's turns"),
        ],
        result: "frames the env must give back (0: it is under the new quota already)",
        errors: [.noSuchEnv, .badCapability, .badArgument])
    }
  }
}
