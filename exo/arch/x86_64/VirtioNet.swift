// The virtio-net device, legacy interface (virtio 0.9.5 over BAR0 I/O ports;
// QEMU's profile sets disable-modern=on so only this interface exists). The
// driver owns the two queues and the packet buffers in the kernel's DMA area
// and nothing of the protocols: it hands received frames to the network
// multiplexer and sends frames the multiplexer has checked. No feature is
// negotiated: the 10-byte header stays zero. A received frame fills one
// buffer; a sent frame is one kernel buffer (the header and the frame's
// first bytes, which the multiplexer copied and checked) followed by at
// most two pieces the device reads straight from the env's frames.
import X86

enum VirtioNet {
  // Legacy register offsets from BAR0.
  private static let guestFeatures: UInt16 = 0x04
  private static let queueAddress: UInt16 = 0x08
  private static let queueSizeRegister: UInt16 = 0x0c
  private static let queueSelect: UInt16 = 0x0e
  private static let queueNotify: UInt16 = 0x10
  private static let deviceStatus: UInt16 = 0x12
  private static let isrStatus: UInt16 = 0x13

  static let headerSize = 10
  static let bufferSize = 2048
  static let maxFrame = 1514
  static let receiveBuffers = 64
  static let transmitBuffers = 32
  /// Descriptors per send: the kernel buffer and up to two payload pieces
  /// (a piece of at most 1,514 bytes crosses at most one page boundary).
  static let transmitPieces = 2

  // The DMA area (storage.S): two queues of up to 256 entries, three pages
  // each (descriptors, available ring, used ring on its own page), then the buffers.
  private static let queuePages = 3
  private static let receiveBufferOffset = 6 * 4096
  private static let transmitBufferOffset = receiveBufferOffset + receiveBuffers * bufferSize
  private static let kernelVirtualBase: UInt64 = 0xffff_ffff_8000_0000  // kernel.ld's KERNEL_VMA

  nonisolated(unsafe) private(set) static var present = false
  nonisolated(unsafe) private(set) static var line: UInt8 = 0
  nonisolated(unsafe) private static var io: UInt16 = 0
  nonisolated(unsafe) private static var sizes = (receive: UInt16(0), transmit: UInt16(0))
  nonisolated(unsafe) private static var receiveSeen: UInt16 = 0
  nonisolated(unsafe) private static var transmitSeen: UInt16 = 0
  /// A bit per transmit buffer the device still holds.
  nonisolated(unsafe) private static var transmitBusy: UInt64 = 0

  private static var area: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: UInt(x86_dma_area_address()))! }
  private static func physical(_ pointer: UnsafeMutableRawPointer) -> UInt64 {
    UInt64(UInt(bitPattern: pointer)) &- kernelVirtualBase
  }

  private static func queue(_ index: Int) -> UnsafeMutableRawPointer { area + index * queuePages * 4096 }
  private static func receiveBuffer(_ i: Int) -> UnsafeMutableRawPointer { area + receiveBufferOffset + i * bufferSize }
  private static func transmitBuffer(_ i: Int) -> UnsafeMutableRawPointer { area + transmitBufferOffset + i * bufferSize }

  // A queue of size n: descriptors (16 bytes each) at 0, the available ring
  // (flags, idx, ring[n]) at 4096, the used ring (flags, idx, ring[n] of
  // id/len pairs) at 8192; n <= 256 keeps each in its page.
  private static func setDescriptor(_ q: Int, _ i: Int, address: UInt64, length: Int, deviceWrites: Bool) {
    let d = queue(q) + 16 * i
    d.storeBytes(of: address, as: UInt64.self)
    d.storeBytes(of: UInt32(length), toByteOffset: 8, as: UInt32.self)
    d.storeBytes(of: deviceWrites ? 2 : 0, toByteOffset: 12, as: UInt16.self)
    d.storeBytes(of: 0, toByteOffset: 14, as: UInt16.self)
  }
  private static func availableIndex(_ q: Int) -> UInt16 { queue(q).load(fromByteOffset: 4096 + 2, as: UInt16.self) }
  private static func offer(_ q: Int, descriptor: Int, size: UInt16) {
    let index = availableIndex(q)
    queue(q).storeBytes(of: UInt16(descriptor), toByteOffset: 4096 + 4 + 2 * Int(index % size), as: UInt16.self)
    x86_barrier()
    queue(q).storeBytes(of: index &+ 1, toByteOffset: 4096 + 2, as: UInt16.self)
  }
  private static func usedIndex(_ q: Int) -> UInt16 {
    x86_barrier()
    return queue(q).load(fromByteOffset: 8192 + 2, as: UInt16.self)
  }
  private static func usedEntry(_ q: Int, _ slot: UInt16, size: UInt16) -> (id: Int, length: Int) {
    let e = 8192 + 4 + 8 * Int(slot % size)
    return (
      Int(queue(q).load(fromByteOffset: e, as: UInt32.self)), Int(queue(q).load(fromByteOffset: e + 4, as: UInt32.self))
    )
  }

  /// Finds and starts the device; false when the machine has none (or one
  /// this driver cannot drive), and the kernel runs without a network.
  static func initialize() -> Bool {
    guard let device = PCIDevice.find(vendor: 0x1af4, device: 0x1000), let base = device.ioBase(bar: 0) else {
      return false
    }
    device.enableIOAndBusMaster()
    io = base
    line = device.interruptLine
    x86_outb(io + deviceStatus, 0)  // reset
    x86_outb(io + deviceStatus, 1)  // acknowledge
    x86_outb(io + deviceStatus, 1 | 2)  // driver
    x86_outl(io + guestFeatures, 0)
    guard let receiveSize = setUpQueue(0, needs: receiveBuffers),
      let transmitSize = setUpQueue(1, needs: transmitBuffers * (1 + transmitPieces))
    else {
      x86_outb(io + deviceStatus, 0x80)  // failed
      return false
    }
    sizes = (receiveSize, transmitSize)
    for i in 0..<receiveBuffers {
      setDescriptor(0, i, address: physical(receiveBuffer(i)), length: bufferSize, deviceWrites: true)
      offer(0, descriptor: i, size: receiveSize)
    }
    // Completed sends are collected when the next send needs a buffer: no interrupt for them.
    queue(1).storeBytes(of: 1, toByteOffset: 4096, as: UInt16.self)
    x86_outb(io + deviceStatus, 1 | 2 | 4)  // driver ready
    x86_outw(io + queueNotify, 0)
    present = true
    return true
  }

  private static func setUpQueue(_ q: Int, needs descriptors: Int) -> UInt16? {
    x86_outw(io + queueSelect, UInt16(q))
    let size = x86_inw(io + queueSizeRegister)
    guard size >= UInt16(descriptors), size <= 256, size & (size - 1) == 0 else { return nil }
    queue(q).initializeMemory(as: UInt8.self, repeating: 0, count: queuePages * 4096)
    x86_outl(io + queueAddress, UInt32(truncatingIfNeeded: physical(queue(q)) >> 12))
    return size
  }

  /// Resets the device (virtio 0.9.5 §2.2.1: status 0), after which it uses
  /// no queue or buffer; the driver is then off.
  static func stop() {
    guard present else { return }
    x86_outb(io + deviceStatus, 0)
    present = false
    transmitBusy = 0
  }

  /// Reading the ISR acknowledges the device's interrupt (the line is level-triggered).
  static func acknowledgeInterrupt() { _ = x86_inb(io + isrStatus) }

  /// Hands every frame the device has received to `deliver` (header
  /// stripped), then gives the buffers back to the device.
  static func receive(_ deliver: (UnsafeRawBufferPointer) -> Void) {
    guard present else { return }
    let used = usedIndex(0)
    guard used != receiveSeen else { return }
    while receiveSeen != used {
      let entry = usedEntry(0, receiveSeen, size: sizes.receive)
      receiveSeen &+= 1
      guard entry.id < receiveBuffers else { continue }  // not a descriptor of ours: ignore it
      if entry.length > headerSize && entry.length <= headerSize + maxFrame {
        deliver(UnsafeRawBufferPointer(start: receiveBuffer(entry.id) + headerSize, count: entry.length - headerSize))
      }
      offer(0, descriptor: entry.id, size: sizes.receive)
    }
    x86_outw(io + queueNotify, 0)
  }

  /// Tells `done` each transmit buffer the device has finished reading
  /// (with the env pieces chained to it), and frees it.
  static func collectSent(_ done: (Int) -> Void) {
    guard present else { return }
    let used = usedIndex(1)
    while transmitSeen != used {
      let entry = usedEntry(1, transmitSeen, size: sizes.transmit)
      transmitSeen &+= 1
      guard entry.id < transmitBuffers, transmitBusy & (1 << UInt64(entry.id)) != 0 else { continue }
      transmitBusy &= ~(1 << UInt64(entry.id))
      done(entry.id)
    }
  }

  /// Sends still with the device.
  static var sendsInFlight: Int { transmitBusy.nonzeroBitCount }

  /// Tells `body` the buffer index of each send still with the device.
  static func forEachSendInFlight(_ body: (Int) -> Void) {
    var busy = transmitBusy
    while busy != 0 {
      body(busy.trailingZeroBitCount)
      busy &= busy - 1
    }
  }

  /// A free transmit buffer's frame area (after the header), or nil when
  /// all are with the device (`collectSent` first frees what it is done with).
  static func freeTransmitBuffer() -> (index: Int, frame: UnsafeMutableRawPointer)? {
    guard present else { return nil }
    let free = ~transmitBusy & ((1 << UInt64(transmitBuffers)) - 1)
    guard free != 0 else { return nil }
    let index = free.trailingZeroBitCount
    return (index, transmitBuffer(index) + headerSize)
  }

  /// Sends the `length` bytes the caller wrote into buffer `index`, followed
  /// by `pieces` read from physical memory (the env's pinned frames).
  static func submit(_ index: Int, length: Int, pieces: TransmitPieces = TransmitPieces()) {
    let buffer = transmitBuffer(index)
    buffer.initializeMemory(as: UInt8.self, repeating: 0, count: headerSize)
    setDescriptor(1, index, address: physical(buffer), length: headerSize + length, deviceWrites: false)
    var last = index
    for p in 0..<pieces.count {
      let next = (1 + p) * transmitBuffers + index
      chain(1, last, to: next)
      setDescriptor(1, next, address: pieces.address(p), length: pieces.length(p), deviceWrites: false)
      last = next
    }
    transmitBusy |= 1 << UInt64(index)
    offer(1, descriptor: index, size: sizes.transmit)
    x86_outw(io + queueNotify, 1)
  }

  /// Sets descriptor `i`'s NEXT flag and link (virtio 0.9.5 §2.3.2).
  private static func chain(_ q: Int, _ i: Int, to next: Int) {
    let d = queue(q) + 16 * i
    d.storeBytes(of: 1, toByteOffset: 12, as: UInt16.self)
    d.storeBytes(of: UInt16(next), toByteOffset: 14, as: UInt16.self)
  }
}

/// Up to two (physical address, length) pieces of a frame to send.
struct TransmitPieces {
  private var addresses: (UInt64, UInt64) = (0, 0)
  private var lengths: (Int, Int) = (0, 0)
  private(set) var count = 0

  mutating func append(_ address: UInt64, _ length: Int) {
    if count == 0 { (addresses.0, lengths.0) = (address, length) } else { (addresses.1, lengths.1) = (address, length) }
    count += 1
  }
  func address(_ i: Int) -> UInt64 { i == 0 ? addresses.0 : addresses.1 }
  func length(_ i: Int) -> Int { i == 0 ? lengths.0 : lengths.1 }
}
