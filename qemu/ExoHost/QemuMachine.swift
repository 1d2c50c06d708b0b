// Every QEMU option exo uses, in one place: machine, serial console, isa-debug-exit,
// kernel, app modules, accelerator, and the NIC when an app is networked (QemuNetwork).

public struct QemuModule: Sendable, Equatable {
  /// Relative to the package root, where QEMU runs.
  public let path: String
  public let commandLine: String

  public init(path: String, commandLine: String) {
    self.path = path
    self.commandLine = commandLine
  }

  /// The module's Multiboot string as the kernel receives it: QEMU passes the
  /// whole `PATH CMDLINE`, the image path first.
  public var multibootString: String { commandLine.isEmpty ? path : "\(path) \(commandLine)" }
}

public struct QemuMachine: Sendable, Equatable {
  public static let executable = "qemu-system-x86_64"
  /// Where `--gdb`'s stub listens (QEMU's `-s`).
  public static let gdbPort = 1234

  public var accel: Accel
  public var memoryMiB: Int
  /// Halted at the first instruction with the gdb stub listening.
  public var gdb: Bool
  public var kernelPath: String
  public var modules: [QemuModule]
  /// nil: no NIC at all, as in every boot without a networked app.
  public var network: QemuNetwork?
  /// Appended last (`exo bench privileged`'s `-singlestep -d exec,nochain -D LOG`).
  public var extraArguments: [String] = []

  public init(
    accel: Accel, memoryMiB: Int = 256, gdb: Bool = false, kernelPath: String = BuildPlan.kernelImage,
    modules: [QemuModule], network: QemuNetwork? = nil
  ) {
    self.accel = accel
    self.memoryMiB = memoryMiB
    self.gdb = gdb
    self.kernelPath = kernelPath
    self.modules = modules
    self.network = network
  }

  /// The machine for a boot's modules.
  public init(
    accel: Accel, memoryMiB: Int = 256, gdb: Bool = false, bootModules: [BootModule], network: QemuNetwork? = nil
  ) {
    self.init(
      accel: accel, memoryMiB: memoryMiB, gdb: gdb,
      modules: bootModules.map { QemuModule(path: $0.imagePath, commandLine: $0.commandLine) }, network: network)
  }

  /// The arguments after the executable's name.
  public func arguments() throws -> [String] {
    var arguments = acceleratorArguments
    arguments += ["-nodefaults", "-machine", "pc", "-cpu", cpu, "-m", "\(memoryMiB)M"]
    // A triple fault would reboot forever without -no-reboot; with it QEMU exits 0.
    arguments += ["-no-reboot", "-display", "none", "-serial", "stdio"]
    arguments += ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    try Self.checkPath(kernelPath)
    arguments += ["-kernel", kernelPath]
    if !modules.isEmpty { arguments += ["-initrd", try Self.initrd(modules)] }
    if let network { arguments += try network.arguments() }
    if gdb { arguments += ["-s", "-S"] }
    return arguments + extraArguments
  }

  /// The command as a user could paste it into a shell.
  public func commandLine() throws -> String {
    ShellQuote.join([Self.executable] + (try arguments()))
  }

  var acceleratorArguments: [String] {
    switch accel {
    case .tcg: return ["-accel", "tcg"]
    // One instruction per TSC tick, and no sleeping through halts, so that
    // counts repeat exactly from run to run.
    case .icount: return ["-accel", "tcg", "-icount", "shift=0,align=off,sleep=off"]
    case .kvm: return ["-accel", "kvm"]
    }
  }

  // KVM's host CPU minus arch-capabilities: plain `-cpu host` aborts on MSR 0x10a here.
  var cpu: String { accel == .kvm ? "host,-arch-capabilities" : "qemu64" }

  /// QEMU's Multiboot `-initrd` list: `PATH CMDLINE` per module, joined by
  /// commas; a comma inside a module's string is written twice.
  public static func initrd(_ modules: [QemuModule]) throws -> String {
    try modules.map { module in
      try checkPath(module.path)
      return module.multibootString.replacingCommas()
    }.joined(separator: ",")
  }

  /// QEMU splits a module's string at its first space and the list at commas,
  /// so an image path can hold neither.
  static func checkPath(_ path: String) throws {
    if path.contains(" ") || path.contains(",") || path.isEmpty {
      throw ExoFailure(
        "image path '\(path)' must not be empty or contain spaces or commas (QEMU's -initrd cannot carry them)",
        exitStatus: ExitStatus.config)
    }
  }
}

extension String {
  fileprivate func replacingCommas() -> String {
    var result = ""
    for character in self {
      result.append(character)
      if character == "," { result.append(",") }
    }
    return result
  }
}
