// The network multiplexer: the kernel's whole part in networking. It decides
// only *whose* a received frame is (the merged packet-filter lookup) and
// *whether* a frame may be sent (the source is the sender's binding); the
// protocols live in each env's libOS [Engler95 §5.3; DPF, SIGCOMM '96].
//
// Data path: the device receives into kernel buffers (one receive queue
// cannot know the owner before the filters run), the owner's frame is
// copied into the next slot of the ring the env attached, and the env's
// network event bit is set. On send, the whole frame is copied into a
// kernel buffer and checked there, so the env cannot change it after the
// check; ring frames stay pinned until the env exits.
import SecureBindings

enum Network {
  typealias EnvRef = UnsafeMutablePointer<Env>

  static let vector: UInt64 = 0x2b
  /// Room for one env at the largest quota (BootConfig.filtersRange, 64)
  /// beside the others at theirs. Each env's quota (`filters=`, default 8)
  /// bounds how many keys it can aim at one hash chain.
  static let maxFilters = 128

  nonisolated(unsafe) private static var filters: PacketFilterTable? = nil
  nonisolated(unsafe) private(set) static var counters = NetCounters()

  static var present: Bool { VirtioNet.present }

  static func initialize() {
    guard VirtioNet.initialize() else { return }
    let buckets = PacketFilterTable.bucketCount(forCapacity: maxFilters)
    filters = PacketFilterTable(
      slots: UnsafeMutableBufferPointer(start: .allocate(capacity: maxFilters), count: maxFilters),
      shapes: UnsafeMutableBufferPointer(start: .allocate(capacity: 8), count: 8),
      buckets: UnsafeMutableBufferPointer(start: .allocate(capacity: buckets), count: buckets),
      seed: Machine.tsc())
    IOAPIC.route(UInt64(VirtioNet.line), to: vector, enabled: true, levelTriggered: true)
    KernelLine().text("net: virtio-net (legacy) on irq ").decimal(UInt64(VirtioNet.line)).text(", ")
      .decimal(UInt64(VirtioNet.receiveBuffers)).text(" receive buffers").end()
  }

  // MARK: kernel calls

  static func attach(_ env: EnvRef, _ capabilities: UInt64, _ count: UInt64) throws(CallFailure) -> UInt64 {
    guard present, env.pointee.netMAC != 0 else { throw CallFailure(.noDevice) }
    guard env.pointee.ringFrameCount == 0 else { throw CallFailure(.busy) }
    guard count >= 2, count <= UInt64(NetRing.maxFrames) else { throw CallFailure(.badLength) }
    let range = try MemoryCalls.readable(env, capabilities, count * 8)
    let words = UnsafePointer<UInt64>(bitPattern: UInt(range.start))!
    var frames = InlineArray<33, UInt64>(repeating: 0)
    for i in 0..<Int(count) {
      let frame = try MemoryCalls.held(words[i], by: env)
      guard !frameBindings.isPageTable(frame), !frameBindings.isPinned(frame) else { throw CallFailure(.frameInUse) }
      for j in 0..<i where frames[j] == frame.number { throw CallFailure(.badArgument) }
      frames[i] = frame.number
    }
    for i in 0..<Int(count) { frameBindings.pin(Frame(number: frames[i])) }
    env.pointee.ringFrames = frames
    env.pointee.ringFrameCount = Int(count)
    env.pointee.ringProduced = 0
    let slots = UInt64((Int(count) - 1) * NetRing.slotsPerFrame)
    let control = Machine.physical(Frame(number: frames[0]).physicalAddress)
    control.storeBytes(of: 0, toByteOffset: NetRing.produced, as: UInt64.self)
    control.storeBytes(of: 0, toByteOffset: NetRing.consumed, as: UInt64.self)
    control.storeBytes(of: slots, toByteOffset: NetRing.slotCount, as: UInt64.self)
    control.storeBytes(of: env.pointee.netMAC, toByteOffset: NetRing.mac, as: UInt64.self)
    control.storeBytes(of: UInt64(env.pointee.netIPv4), toByteOffset: NetRing.ipv4, as: UInt64.self)
    control.storeBytes(of: 0, toByteOffset: NetRing.droppedFull, as: UInt64.self)
    return slots
  }

  static func bind(_ env: EnvRef, _ program: UInt64, _ length: UInt64) throws(CallFailure) -> UInt64 {
    guard present, env.pointee.netMAC != 0 else { throw CallFailure(.noDevice) }
    guard length <= UInt64(PacketFilter.headerSize + PacketFilter.maxAtoms * PacketFilter.recordSize) else { throw CallFailure(.badLength) }
    let range = try MemoryCalls.readable(env, program, length)
    let bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(range.start)), count: Int(length))
    let filter: PacketFilter
    do { filter = try PacketFilter.decode(bytes) } catch {
      throw CallFailure(.badFilter, value: error.code)
    }
    guard filter.provesOwnership(mac: env.pointee.netMAC, ipv4: env.pointee.netIPv4) else {
      throw CallFailure(.badFilter, value: FilterError.notOwnerCode)
    }
    guard env.pointee.filterCount < env.pointee.filterQuota else { throw CallFailure(.tableFull) }
    do {
      let id = try filters!.insert(filter, owner: env.pointee.id.raw)
      env.pointee.filterCount += 1
      return UInt64(id.raw)
    } catch {
      switch error {
      case .tableFull, .tooManyShapes: throw CallFailure(.tableFull)
      case .conflict: throw CallFailure(.conflict)
      default: throw CallFailure(.badFilter, value: error.code)
      }
    }
  }

  static func unbind(_ env: EnvRef, _ id: UInt64) throws(CallFailure) {
    guard present, id <= UInt64(UInt32.max), filters!.owner(of: FilterID(raw: UInt32(id))) == env.pointee.id.raw
    else { throw CallFailure(.badArgument) }
    _ = filters!.remove(FilterID(raw: UInt32(id)))
    env.pointee.filterCount -= 1
  }

  static func send(_ env: EnvRef, _ address: UInt64, _ length: UInt64) throws(CallFailure) {
    guard present, env.pointee.netMAC != 0 else { throw CallFailure(.noDevice) }
    guard length >= UInt64(TransmitCheck.minimumFrame), length <= UInt64(TransmitCheck.maximumFrame) else {
      throw CallFailure(.badLength)
    }
    let range = try MemoryCalls.readable(env, address, length)
    guard let buffer = VirtioNet.takeTransmitBuffer() else {
      counters.deviceFull += 1
      throw CallFailure(.busy)
    }
    // Copied first, checked after: what the device sends is what was checked.
    buffer.frame.copyMemory(from: UnsafeRawPointer(bitPattern: UInt(range.start))!, byteCount: Int(length))
    let frame = UnsafeRawBufferPointer(start: buffer.frame, count: Int(length))
    guard TransmitCheck.check(frame, mac: env.pointee.netMAC, ipv4: env.pointee.netIPv4) == .allowed else {
      counters.spoofed += 1
      throw CallFailure(.spoofed)
    }
    VirtioNet.submit(buffer.index, length: Int(length))
    counters.sent += 1
  }

  // MARK: receiving

  /// The device's line fired: every received frame goes to its owner's ring.
  /// Each delivered frame's cost in TSC ticks (instructions under icount)
  /// goes into its slot's cost word (NetRing.slotCost): the first frame of
  /// an interrupt counts from this function's entry, each later one from
  /// the end of the frame before it (delivered or not), so the costs of one
  /// interrupt add up to its whole handling and nothing is counted twice.
  static func interrupt() {
    var mark = Machine.tsc()
    VirtioNet.acknowledgeInterrupt()
    LocalAPIC.endOfInterrupt()
    VirtioNet.receive { frame in mark = deliver(frame, since: mark) }
  }

  /// Returns the TSC at its end, where the next frame's cost starts.
  private static func deliver(_ frame: UnsafeRawBufferPointer, since start: UInt64) -> UInt64 {
    counters.received += 1
    guard let owner = filters?.lookup(frame), owner != 0, Int(owner) <= envTable.count else {
      counters.noOwner += 1
      return Machine.tsc()
    }
    let env = envTable[EnvID(owner)]
    guard env.pointee.state == .runnable || env.pointee.state == .blocked, env.pointee.ringFrameCount >= 2 else {
      counters.noOwner += 1
      return Machine.tsc()
    }
    let control = Machine.physical(Frame(number: env.pointee.ringFrames[0]).physicalAddress)
    let slots = UInt64((env.pointee.ringFrameCount - 1) * NetRing.slotsPerFrame)
    let produced = env.pointee.ringProduced
    // The consumer count is the env's to write; any value only makes the ring look full or not.
    let consumed = control.load(fromByteOffset: NetRing.consumed, as: UInt64.self)
    guard produced &- consumed < slots else {
      counters.ringFull += 1
      let dropped = control.load(fromByteOffset: NetRing.droppedFull, as: UInt64.self)
      control.storeBytes(of: dropped &+ 1, toByteOffset: NetRing.droppedFull, as: UInt64.self)
      Events.deliver(env, NetRing.eventBit)
      return Machine.tsc()
    }
    let place = NetRing.slot(Int(produced % slots))
    let slot = Machine.physical(Frame(number: env.pointee.ringFrames[place.frame]).physicalAddress) + place.offset
    slot.storeBytes(of: UInt64(frame.count), as: UInt64.self)
    (slot + NetRing.slotHeader).copyMemory(from: frame.baseAddress!, byteCount: frame.count)
    // Up to here the frame is in the ring; publishing it and the event are the same for every frame.
    let end = Machine.tsc()
    slot.storeBytes(of: end &- start, toByteOffset: NetRing.slotCost, as: UInt64.self)
    env.pointee.ringProduced = produced &+ 1
    control.storeBytes(of: produced &+ 1, toByteOffset: NetRing.produced, as: UInt64.self)
    counters.delivered += 1
    Events.deliver(env, NetRing.eventBit)
    return end
  }

  /// At exit: the env's filters go, and its ring frames are unpinned so that they can be freed.
  static func detach(_ env: EnvRef) {
    guard present else { return }
    _ = filters!.removeAll(owner: env.pointee.id.raw)
    env.pointee.filterCount = 0
    for i in 0..<env.pointee.ringFrameCount { frameBindings.unpin(Frame(number: env.pointee.ringFrames[i])) }
    env.pointee.ringFrameCount = 0
  }
}

/// What the multiplexer has seen, reported at the end of a boot.
struct NetCounters {
  var received: UInt64 = 0
  var delivered: UInt64 = 0
  var noOwner: UInt64 = 0
  var ringFull: UInt64 = 0
  var sent: UInt64 = 0
  var spoofed: UInt64 = 0
  var deviceFull: UInt64 = 0
}
