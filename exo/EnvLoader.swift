// Turns a Multiboot module into a runnable env: parse its boot
// configuration, validate the ELF image, build its address space from frames
// charged to its quota, copy the segments, map a stack. Any failure refuses
// this module only, returns what it took, and the other apps still start.
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
  static func load(_ module: BootModule, from boot: MultibootInfo) throws(LoadRefusal) -> UnsafeMutablePointer<Env> {
    guard module.start <= module.end, module.end <= Machine.directMapSize else { throw .moduleOutsideMemory }
    let commandLine = boot.commandLine(of: module)
    let config: BootConfig
    do { config = try BootConfig.parse(commandLine) } catch { throw .config(error) }
    let bytes = UnsafeRawBufferPointer(start: Machine.physical(module.start), count: Int(module.end - module.start))
    let image: ElfImage
    do { image = try ElfImage.validate(bytes) } catch { throw .image(error) }

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
    env.pointee.framesHeld = 0
    env.pointee.slices = config.slices
    env.pointee.nameLength = config.name.count
    for i in 0..<config.name.count { env.pointee.name[i] = commandLine[config.name.offset + i] }
    do {
      try build(env, image: image, bytes: bytes, arg: config.arg.map { span in
        UnsafeRawBufferPointer(rebasing: commandLine[span.offset..<(span.offset + span.count)])
      })
    } catch {
      _ = frameTable.releaseAll(of: env.pointee.id)
      envTable.unclaimLast()
      throw error
    }
    env.pointee.state = .runnable
    return env
  }

  private static func build(
    _ env: UnsafeMutablePointer<Env>, image: ElfImage, bytes: UnsafeRawBufferPointer, arg: UnsafeRawBufferPointer?
  ) throws(LoadRefusal) {
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
    if let arg, let source = arg.baseAddress {
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
