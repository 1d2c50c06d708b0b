// exo: the kernel's entry and boot sequence. It protects and multiplexes;
// it decides nothing an app could decide for itself [Engler95].
//
// Boot order matters: descriptors and the PIC before anything can trap,
// every byte of boot information reserved before the first frame is handed
// out, the identity map dropped before the first env exists.
import SecureBindings

nonisolated(unsafe) var frameTable = FrameTable(
  owners: Machine.frameOwnerStorage(), freeStack: Machine.frameStackStorage())
nonisolated(unsafe) var frameBindings = FrameBindings(
  generations: Machine.frameGenerationStorage(), uses: Machine.frameUseStorage())
nonisolated(unsafe) var envTable = EnvTable()
nonisolated(unsafe) var grantTable = GrantTable(
  slots: UnsafeMutableBufferPointer(start: .allocate(capacity: Limits.maxGrants), count: Limits.maxGrants),
  used: UnsafeMutableBufferPointer(start: .allocate(capacity: Limits.maxGrants), count: Limits.maxGrants))
nonisolated(unsafe) var framesFreeAtBoot = 0
/// The kernel's frame holding the time page every env maps read-only.
nonisolated(unsafe) var timeFrame = Frame(number: 0)

@_cdecl("kmain")
func kmain(_ magic: UInt32, _ infoAddress: UInt64) -> Never {
  Serial.initialize()
  Descriptors.install()
  LocalAPIC.initialize()
  Devices.initialize()
  guard magic == MultibootInfo.bootloaderMagic else { panic("not started by a Multiboot loader") }
  let boot = MultibootInfo(address: infoAddress)
  guard boot.hasMemoryMap else { panic("the boot loader gave no memory map") }

  var ramBytes: UInt64 = 0
  boot.forEachMemoryRegion { base, length, available in
    guard available else { return }
    ramBytes += length
    let first = (base + UserSpace.pageSize - 1) / UserSpace.pageSize
    let end = (base + length) / UserSpace.pageSize
    if end > first { frameTable.addAvailable(first: first, count: end - first) }
  }
  frameTable.reserve(first: 0, count: 256)  // below 1 MiB: BIOS data, real-mode tables
  reserve(Machine.kernelPhysicalRange.lowerBound, Machine.kernelPhysicalRange.upperBound)
  boot.forEachOccupiedRange { start, end in reserve(start, end) }
  frameTable.seal()
  timeFrame = makeTimePage()
  framesFreeAtBoot = frameTable.freeCount
  LeafList.reserve()
  _ = grantTable.count  // its storage is taken now, at boot
  AddressSpace.dropIdentityMap()

  KernelLine().text("exo kernel: ").decimal(ramBytes >> 20).text(" MiB RAM, ").decimal(UInt64(framesFreeAtBoot))
    .text(" frames free, ").decimal(UInt64(boot.moduleCount)).text(" app modules").end()

  KernelLine().text("time: ").decimal(SliceVector.sliceMicroseconds).text(" us slices; APIC timer ")
    .decimal(UInt64(LocalAPIC.ticksPerMillisecond)).text(" ticks/ms, TSC ").decimal(LocalAPIC.tscPerMillisecond)
    .text(" ticks/ms").end()
  Network.initialize()
  for i in 0..<boot.moduleCount {
    do {
      let env = try EnvLoader.load(boot.module(i))
      if env.pointee.state == .held {
        KernelLine().text("module ").decimal(UInt64(i + 1)).text(" held: env ").env(env.pointee)
          .text(" waits for env_start").end()
      } else {
        KernelLine().text("env ").env(env.pointee).text(" started: ").decimal(env.pointee.framesHeld).text(" frames").end()
      }
    } catch {
      KernelLine().text("module ").decimal(UInt64(i + 1)).text(" refused: ").text(error.reason).end()
    }
  }
  Quotas.rebalance()
  if let first = envTable.next(after: EnvID(UInt16(Limits.maxEnvs))) { startTurn(envTable[first]) }
  allEnvsExited()
}

/// The time scale, written once at boot into a frame the kernel keeps.
private func makeTimePage() -> Frame {
  guard let frame = frameTable.allocate(for: .kernel) else { panic("no frame for the time page") }
  Machine.zeroFrame(frame)
  let page = Machine.physical(frame.physicalAddress)
  page.storeBytes(of: LocalAPIC.tscPerMillisecond, toByteOffset: TimePage.tscPerMillisecond, as: UInt64.self)
  page.storeBytes(of: SliceVector.sliceMicroseconds, toByteOffset: TimePage.sliceMicroseconds, as: UInt64.self)
  page.storeBytes(
    of: UInt64(LocalAPIC.ticksPerMillisecond), toByteOffset: TimePage.apicTicksPerMillisecond, as: UInt64.self)
  return frame
}

private func reserve(_ start: UInt64, _ end: UInt64) {
  guard end > start else { return }
  let first = start / UserSpace.pageSize
  let last = (end + UserSpace.pageSize - 1) / UserSpace.pageSize
  frameTable.reserve(first: first, count: last - first)
}
