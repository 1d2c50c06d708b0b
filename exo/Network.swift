// The network multiplexer: the kernel's whole part in networking. It decides
// only *whose* a received frame is (the merged packet-filter lookup) and
// *whether* a frame may be sent (the source is the sender's binding); the
// protocols live in each env's libOS [Engler95 §5.3; DPF, SIGCOMM '96].
//
// Data path: the device receives into kernel buffers (one receive queue
// cannot know the owner before the filters run), the owner's frame is
// copied into the next slot of the ring the env attached, and the env's
// network event bit is set. On send, the frame's first bytes (every byte
// the transmit check reads, and the protocol headers after them) are
// copied into a kernel buffer and checked there, so the env cannot change
// them after the check; the rest of a large frame is chained to the device
// straight from the env's frames, which stay pinned until the device has
// read them, so that they cannot be freed, granted away or repossessed
// meanwhile (the env may still write to them: those bytes are its own).
// Ring frames stay pinned until the env exits.
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
  /// Per transmit buffer: the frames its pieces pin, as frame number + 1
  /// (0: none), then the sending env's id and the send's number among that
  /// env's sends (0 when the frame was copied whole: nothing of the env's
  /// is in flight).
  nonisolated(unsafe) private static var sendRecords: UnsafeMutablePointer<UInt64>? = nil
  private static let recordWords = VirtioNet.transmitPieces + 2

  /// Bytes of a sent frame copied into the kernel: at least every byte the
  /// transmit check reads, and room for the Ethernet, IPv4 and TCP headers.
  static let copiedHead = 128
  /// Frames up to this size are copied whole: pinning two frames costs
  /// more than copying a few hundred bytes.
  static let copiedWhole = 256

  static var present: Bool { VirtioNet.present }

  static func initialize() {
    guard VirtioNet.initialize() else { return }
    let words = VirtioNet.transmitBuffers * recordWords
    sendRecords = .allocate(capacity: words)
    sendRecords!.initialize(repeating: 0, count: words)
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

  /// Sends one frame, or with a zero length only reports; either way the
  /// result is how many of the env's sends the device has finished reading
  /// from its frames, counted from the first (every send before that
  /// number is done, so the libOS may write into those buffers again).
  static func send(_ env: EnvRef, _ address: UInt64, _ length: UInt64) throws(CallFailure) -> UInt64 {
    guard present, env.pointee.netMAC != 0 else { throw CallFailure(.noDevice) }
    collectSent()
    if length == 0 { return sendsDone(env) }
    guard length >= UInt64(TransmitCheck.minimumFrame), length <= UInt64(TransmitCheck.maximumFrame) else {
      throw CallFailure(.badLength)
    }
    let range = try MemoryCalls.readable(env, address, length)
    guard let buffer = VirtioNet.freeTransmitBuffer() else {
      counters.deviceFull += 1
      throw CallFailure(.busy)
    }
    let copied = length <= UInt64(copiedWhole) ? Int(length) : copiedHead
    // Copied first, checked after: what the device sends is what was checked.
    buffer.frame.copyMemory(from: UnsafeRawPointer(bitPattern: UInt(range.start))!, byteCount: copied)
    let head = UnsafeRawBufferPointer(start: buffer.frame, count: copied)
    guard TransmitCheck.check(head, mac: env.pointee.netMAC, ipv4: env.pointee.netIPv4) == .allowed else {
      counters.spoofed += 1
      throw CallFailure(.spoofed)
    }
    env.pointee.netSends &+= 1
    if env.pointee.netDHCP, let xid = DHCPBinding.requestID(in: head) { env.pointee.dhcpTransaction = xid }
    let record = sendRecords! + buffer.index * recordWords
    var pieces = TransmitPieces()
    var at = range.start + UInt64(copied)
    let end = range.start + length
    while at < end {
      // `readable` found every page mapped; a piece ends at its page's end.
      let physical = env.pointee.space.translate(at)!
      let piece = min(end - at, UserSpace.pageSize - (at & (UserSpace.pageSize - 1)))
      let frame = Frame(number: physical >> 12)
      frameBindings.pin(frame)
      record[pieces.count] = frame.number + 1
      pieces.append(physical, Int(piece))
      at += piece
    }
    record[VirtioNet.transmitPieces] = UInt64(env.pointee.id.raw)
    record[VirtioNet.transmitPieces + 1] = pieces.count > 0 ? env.pointee.netSends : 0
    if pieces.count > 0 { counters.chained += 1 }
    VirtioNet.submit(buffer.index, length: copied, pieces: pieces)
    counters.sent += 1
    return sendsDone(env)
  }

  /// The env's sends before the oldest one whose frames the device still reads.
  private static func sendsDone(_ env: EnvRef) -> UInt64 {
    var done = env.pointee.netSends
    VirtioNet.forEachSendInFlight { index in
      let record = sendRecords! + index * recordWords
      let sequence = record[VirtioNet.transmitPieces + 1]
      if sequence != 0, record[VirtioNet.transmitPieces] == UInt64(env.pointee.id.raw), sequence <= done {
        done = sequence - 1
      }
    }
    return done
  }

  /// Unpins the frames of every send the device has finished.
  static func collectSent() { VirtioNet.collectSent(release) }

  /// Forgets transmit buffer `index`'s send: its frames unpinned, its number cleared.
  private static func release(_ index: Int) {
    let record = sendRecords! + index * recordWords
    for p in 0..<VirtioNet.transmitPieces where record[p] != 0 {
      frameBindings.unpin(Frame(number: record[p] - 1))
      record[p] = 0
    }
    record[VirtioNet.transmitPieces + 1] = 0
  }

  /// Waits until the device has read every frame it was given, so that a
  /// pin of a send no longer stands in the way of freeing, granting or
  /// exiting. The device (QEMU's, in its own thread) finishes a send in
  /// microseconds; the bound is there so that a broken device cannot hang
  /// the kernel: it is then reset, which stops it touching any buffer, and
  /// the kernel runs on without a network.
  static func waitForSends() {
    guard present, VirtioNet.sendsInFlight > 0 else { return }
    for _ in 0..<sendWaitLimit {
      collectSent()
      if VirtioNet.sendsInFlight == 0 { return }
      Machine.relax()
    }
    KernelLine().text("net: the device kept ").decimal(UInt64(VirtioNet.sendsInFlight))
      .text(" sends; it is reset and the network is off").end()
    VirtioNet.stop()
    for index in 0..<VirtioNet.transmitBuffers { release(index) }
  }
  private static let sendWaitLimit = 50_000_000

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
    if env.pointee.netDHCP { learnLease(env, frame, control: control) }
    Events.deliver(env, NetRing.eventBit)
    return end
  }

  /// A DHCPACK for a `dhcp=1` env, answering its latest request, binds the
  /// address it assigns, unless another env holds that address. Filters bound so far stay: they were
  /// proven for the env's MAC, which has not changed.
  private static func learnLease(_ env: EnvRef, _ frame: UnsafeRawBufferPointer, control: UnsafeMutableRawPointer) {
    guard let xid = env.pointee.dhcpTransaction,
      let address = DHCPBinding.leasedAddress(in: frame, mac: env.pointee.netMAC, xid: xid),
      address != env.pointee.netIPv4
    else { return }
    guard !ipv4Taken(address, besides: env) else {
      KernelLine().text("net: refused a DHCP lease of an address another env holds").end()
      return
    }
    env.pointee.netIPv4 = address
    control.storeBytes(of: UInt64(address), toByteOffset: NetRing.ipv4, as: UInt64.self)
    KernelLine().text("net: env ").env(env.pointee).text(" bound to ").decimal(UInt64(address >> 24)).text(".")
      .decimal(UInt64(address >> 16 & 0xff)).text(".").decimal(UInt64(address >> 8 & 0xff)).text(".")
      .decimal(UInt64(address & 0xff)).text(" by DHCP").end()
  }

  /// Whether a live env other than `env` is bound to `ipv4`: the IPv4 half
  /// of a binding belongs to one env (EnvLoader at load, a DHCP lease later).
  static func ipv4Taken(_ ipv4: UInt32, besides env: EnvRef?) -> Bool {
    for i in 0..<envTable.count {
      let other = envTable[EnvID(UInt16(i + 1))]
      if other != env && other.pointee.state != .exited && other.pointee.netIPv4 == ipv4 { return true }
    }
    return false
  }

  /// At exit: the env's filters go, and its ring frames are unpinned so that they can be freed.
  static func detach(_ env: EnvRef) {
    guard present else { return }
    // Any env's frames may be in a send (its own, or granted to a sender).
    waitForSends()
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
  /// Sends whose payload the device read from the env's frames.
  var chained: UInt64 = 0
}
