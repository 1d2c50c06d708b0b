// The network device as this env sees it: a transmit ring of buffers in
// the env's own memory, each sent with `net_send` (the kernel copies and
// checks the headers, then the device reads the rest from here), and a
// receive ring in frames the env owns, attached with `net_attach` and laid
// out as secure-bindings/NetRing.swift says. The kernel has already decided
// that each frame in the receive ring is this env's; everything else is the
// stack's.
import LibOSNet
import LibOSRuntime

/// The sending half: what the stack holds as its device.
public struct KernelNIC: NetworkInterface {
  public let mac: MACAddress
  /// As many buffers as the device has transmit slots: by the time the ring
  /// comes round, the send that used a buffer has almost always finished.
  static let buffers = 32
  /// A buffer never crosses a page boundary, so the device reads each
  /// frame's rest as one piece.
  static let bufferSize = 2048
  private let ring: UnsafeMutableRawPointer
  /// Per buffer: the number of the send that last used it (0: none).
  private let sends: UnsafeMutablePointer<UInt64>
  private var next = 0
  /// This env's sends so far, and how many of them the device has finished.
  private var sent: UInt64 = 0
  private var done: UInt64 = 0

  init(mac: MACAddress) {
    self.mac = mac
    ring = .allocate(byteCount: Self.buffers * Self.bufferSize, alignment: Self.bufferSize)
    sends = .allocate(capacity: Self.buffers)
    sends.initialize(repeating: 0, count: Self.buffers)
  }

  /// The next buffer, once the device has finished the send that last used
  /// it; meanwhile the env gives its slice away. nil if it never finishes.
  public mutating func transmitBuffer() -> UnsafeMutableRawBufferPointer? {
    for _ in 0..<1000 {
      if sends[next] <= done {
        return UnsafeMutableRawBufferPointer(start: ring + next * Self.bufferSize, count: Self.bufferSize)
      }
      do throws(ExoError) { done = try Exo.netSendsDone() } catch { return nil }
      if sends[next] > done { Exo.yield() }
    }
    return nil
  }

  /// Sends the frame in the current buffer; while the device's queue is
  /// full the env gives its slice away and tries again (the device drains
  /// at wire speed).
  public mutating func transmit(count: Int) -> Bool {
    let frame = UnsafeRawBufferPointer(start: ring + next * Self.bufferSize, count: count)
    for _ in 0..<1000 {
      do throws(ExoError) {
        done = try Exo.netSend(frame)
        sent &+= 1
        sends[next] = sent
        next = (next + 1) % Self.buffers
        return true
      } catch {
        guard error == .busy else { return false }
        Exo.yield()
      }
    }
    return false
  }
}

/// The receiving half, kept apart from the stack so that draining it can
/// feed the stack without an overlapping access.
public struct ReceiveRing {
  /// Where the ring is mapped: PML4 slot 245, clear of the heap (slot
  /// 246), the thread stacks (248) and the pager's regions.
  public static let base: UInt64 = 0x7a80_0000_0000

  public let mac: MACAddress
  /// The static address from the boot configuration; 0.0.0.0 for DHCP.
  public let address: IPv4Address
  public let slots: UInt64
  private var taken: UInt64 = 0
  /// The last frame taken: the kernel's receive cost from its slot's cost
  /// word (NetRing.slotCost), and the TSC just before the stack got it.
  public private(set) var lastKernelCost: UInt64 = 0
  public private(set) var lastTakenAt: UInt64 = 0

  private var control: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: UInt(Self.base))! }

  /// Takes frames from the quota for the ring, maps them, and hands them to
  /// the kernel, which writes the env's MAC and IPv4 into the control page.
  public static func attach() throws(ExoError) -> ReceiveRing {
    let kernel = ExoPageKernel()
    var capabilities = [UInt64](repeating: 0, count: NetRing.maxFrames)
    for i in 0..<NetRing.maxFrames {
      let capability = try kernel.frameAlloc()
      try kernel.mapSupplyingTables(base + UInt64(i) * UserSpace.pageSize, capability, .write)
      capabilities[i] = capability.raw
    }
    let slots = try capabilities.withUnsafeBufferPointer { (b) throws(ExoError) in try Exo.netAttach(b) }
    let page = UnsafeRawPointer(bitPattern: UInt(base))!
    return ReceiveRing(
      mac: MACAddress(packed: page.load(fromByteOffset: NetRing.mac, as: UInt64.self)),
      address: IPv4Address(UInt32(truncatingIfNeeded: page.load(fromByteOffset: NetRing.ipv4, as: UInt64.self))),
      slots: UInt64(slots))
  }

  private init(mac: MACAddress, address: IPv4Address, slots: UInt64) {
    self.mac = mac
    self.address = address
    self.slots = slots
  }

  /// Frames the kernel dropped because the ring was full.
  public var droppedFull: UInt64 { control.load(fromByteOffset: NetRing.droppedFull, as: UInt64.self) }

  /// Hands the oldest received frame to `body`, then gives its slot back; false if none waited.
  public mutating func receive(_ body: (UnsafeRawBufferPointer) -> Void) -> Bool {
    let produced = control.load(fromByteOffset: NetRing.produced, as: UInt64.self)
    guard produced != taken, slots > 0 else { return false }
    let place = NetRing.slot(Int(taken % slots))
    let slot = control + place.frame * Int(UserSpace.pageSize) + place.offset
    let length = min(
      Int(slot.load(fromByteOffset: NetRing.slotLength, as: UInt64.self)), NetRing.slotSize - NetRing.slotHeader)
    lastKernelCost = slot.load(fromByteOffset: NetRing.slotCost, as: UInt64.self)
    lastTakenAt = Time.now()
    body(UnsafeRawBufferPointer(start: slot + NetRing.slotHeader, count: length))
    taken &+= 1
    control.storeBytes(of: taken, toByteOffset: NetRing.consumed, as: UInt64.self)
    return true
  }
}
