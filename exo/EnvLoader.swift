// Turns a Multiboot module into a runnable env: parse its boot
// configuration, validate the ELF image, build its address space from frames
// charged to its quota, copy the segments, map a stack. Any failure refuses
// this module only, returns what it took, and the other apps still start.
// A `held=1` module is checked and given its id at boot, and built only
// when an env listed before it calls `env_start`.
import SecureBindings

enum LoadRefusal: Error {
  case config(BootConfigError)
  case image(ElfError)
  case moduleOutsideMemory
  case tooManyEnvs
  case overQuota
  case outOfFrames
  case addressTaken

  var reason: StaticString {
    switch self {
    case .config(let e): return e.reason
    case .image(let e): return e.reason
    case .moduleOutsideMemory: return "module lies outside the direct map"
    case .tooManyEnvs: return "the env table is full"
    case .overQuota: return "image needs more frames than its quota"
    case .outOfFrames: return "no free frames left"
    case .addressTaken: return "another env is bound to the same MAC or IPv4 address"
    }
  }
}

enum EnvLoader {
  /// A module's command line, configuration and image, all checked.
  private struct CheckedModule {
    let commandLine: UnsafeRawBufferPointer
    let config: BootConfig
    let bytes: UnsafeRawBufferPointer
    let image: ElfImage

    init(_ module: BootModule) throws(LoadRefusal) {
      guard module.start <= module.end, module.end <= Machine.directMapSize else { throw .moduleOutsideMemory }
      commandLine = MultibootInfo.commandLine(of: module)
      do { config = try BootConfig.parse(commandLine) } catch { throw .config(error) }
      bytes = UnsafeRawBufferPointer(start: Machine.physical(module.start), count: Int(module.end - module.start))
      do { image = try ElfImage.validate(bytes) } catch { throw .image(error) }
    }

    var arg: UnsafeRawBufferPointer? { config.arg?.bytes(in: commandLine) }
  }

  static func load(_ module: BootModule) throws(LoadRefusal) -> UnsafeMutablePointer<Env> {
    let checked = try CheckedModule(module)
    let config = checked.config
    let commandLine = checked.commandLine

    // A network binding is a whole (MAC, IPv4) pair: no two envs share either half.
    if let mac = config.mac {
      for i in 0..<envTable.count where envTable[EnvID(UInt16(i + 1))].pointee.netMAC == mac { throw .addressTaken }
      if let ip = config.ip, Network.ipv4Taken(ip, besides: nil) { throw .addressTaken }
    }
    guard let env = envTable.claim() else { throw .tooManyEnvs }
    env.pointee.reclaim = ReclaimRequest()
    env.pointee.recent = AllocationLog()
    env.pointee.netMAC = config.mac ?? 0
    env.pointee.netIPv4 = config.mac == nil ? 0 : config.ip ?? 0
    env.pointee.netDHCP = config.mac != nil && config.dhcp
    env.pointee.filterQuota = config.mac == nil ? 0 : Int(config.filterQuota)
    env.pointee.frameQuota = config.frames
    env.pointee.manifestQuota = config.frames
    env.pointee.quotaCeiling = config.frames
    env.pointee.framesHeld = 0
    env.pointee.slices = config.slices
    env.pointee.nameLength = config.name.count
    for i in 0..<config.name.count { env.pointee.name[i] = commandLine[config.name.offset + i] }
    if config.held {
      env.pointee.heldModule = module
      env.pointee.state = .held
      return env
    }
    do {
      try build(env, checked)
    } catch {
      _ = frameTable.releaseAll(of: env.pointee.id)
      envTable.unclaimLast()
      throw error
    }
    env.pointee.loadedFrames = env.pointee.framesHeld
    env.pointee.state = .runnable
    return env
  }

  /// `env_start`: builds a held env (Quotas.start has checked it is one)
  /// from its module, which the kernel has kept reserved since boot and
  /// checked then. If the frames are not there yet, everything taken goes
  /// back and the env stays held.
  static func start(_ env: UnsafeMutablePointer<Env>) throws(LoadRefusal) {
    let checked = try CheckedModule(env.pointee.heldModule)
    do {
      try build(env, checked)
    } catch {
      _ = frameTable.releaseAll(of: env.pointee.id)
      env.pointee.framesHeld = 0
      env.pointee.recent = AllocationLog()
      throw error
    }
    env.pointee.loadedFrames = env.pointee.framesHeld
    env.pointee.state = .runnable
  }

  private static func build(_ env: UnsafeMutablePointer<Env>, _ module: CheckedModule) throws(LoadRefusal) {
    let image = module.image
    let bytes = module.bytes
    let page = UserSpace.pageSize
    let root = try allocate(for: env)
    frameBindings.markPageTable(root)
    env.pointee.space = AddressSpace(newRootIn: root)
    let space = env.pointee.space

    for segment in image.segments {
      var va = segment.virtualAddress & ~(page - 1)
      let end = segment.virtualAddress + segment.memorySize
      while va < end {
        let frame = try allocate(for: env)
        let target = Machine.physical(frame.physicalAddress)
        target.initializeMemory(as: UInt8.self, repeating: 0, count: Int(page))
        // The part of the file image that falls in this page.
        let fileEnd = segment.virtualAddress + segment.fileSize
        let from = max(va, segment.virtualAddress)
        let to = min(va + page, fileEnd)
        if from < to {
          let source = bytes.baseAddress!.advanced(by: Int(segment.fileOffset + (from - segment.virtualAddress)))
          target.advanced(by: Int(from - va)).copyMemory(from: source, byteCount: Int(to - from))
        }
        try map(env, va, frame, writable: segment.writable, executable: segment.executable)
        va += page
      }
    }

    var stackPage = UserSpace.stackTop
    for _ in 0..<Limits.userStackPages {
      stackPage -= page
      let frame = try allocate(for: env)
      Machine.physical(frame.physicalAddress).initializeMemory(as: UInt8.self, repeating: 0, count: Int(page))
      try map(env, stackPage, frame, writable: true, executable: false)
    }

    // Every env sees the kernel's time scale, read-only and not executable.
    try map(env, TimePage.address, timeFrame, writable: false, executable: false)

    // The argument is copied to the top of the stack; RSI/RDX point at it.
    var argAddress: UInt64 = 0
    var argLength: UInt64 = 0
    if let arg = module.arg, let source = arg.baseAddress {
      argAddress = UserSpace.stackTop - 128
      argLength = UInt64(arg.count)
      guard let physical = space.translate(argAddress) else { throw .outOfFrames }
      Machine.physical(physical).copyMemory(from: source, byteCount: arg.count)
    }
    env.pointee.registers.pointee = UserMode.initialRegisters(
      entry: image.entry, stack: UserSpace.stackTop - 256,
      arguments: (UInt64(env.pointee.id.raw), argAddress, argLength))
    UserMode.initializeFPU(env.pointee.fpu)
  }

  private static func allocate(for env: UnsafeMutablePointer<Env>) throws(LoadRefusal) -> Frame {
    try allocation(for: env).get()
  }

  /// One frame charged to the env's quota.
  private static func allocation(for env: UnsafeMutablePointer<Env>) -> Result<Frame, LoadRefusal> {
    guard env.pointee.framesHeld < env.pointee.frameQuota else { return .failure(.overQuota) }
    guard let frame = frameTable.allocate(for: .env(env.pointee.id)) else { return .failure(.outOfFrames) }
    _ = frameBindings.claim(frame)
    env.pointee.framesHeld += 1
    return .success(frame)
  }

  private static func map(
    _ env: UnsafeMutablePointer<Env>, _ va: UInt64, _ frame: Frame, writable: Bool, executable: Bool
  ) throws(LoadRefusal) {
    var failure: LoadRefusal? = nil
    let rights = PageRights.from(writable: writable, executable: executable)
    let mapped = env.pointee.space.map(va, to: frame, rights: rights) {
      switch allocation(for: env) {
      case .success(let table):
        frameBindings.markPageTable(table)
        return table
      case .failure(let refusal):
        failure = refusal
        return nil
      }
    }
    if !mapped { throw failure ?? .outOfFrames }
    frameBindings.noteMapped(frame)
  }
}
