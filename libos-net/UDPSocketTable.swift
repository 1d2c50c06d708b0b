// UDP sockets: a fixed table of bound ports, each with a bounded receive
// queue of whole datagrams (with the sender's address and port). Each
// socket's bytes are a ring in storage made once; a datagram that does
// not fit in what is left, or that would exceed the datagram count, is
// dropped and counted. A handle carries a generation so that one kept
// after `close` cannot reach the slot's next owner.

public struct UDPSocket: Equatable, Hashable, Sendable {
  public let index: Int32
  public let generation: UInt32
  public init(index: Int32, generation: UInt32) {
    self.index = index
    self.generation = generation
  }
}

public enum UDPError: Error, Equatable, Sendable {
  case addressInUse, tableFull, noSuchSocket, badArgument
  case messageTooLong  // more than 65,507 bytes
  case noAddress  // no address yet (DHCP has not finished) for a datagram that needs one
  case noRoute
  case noBufferSpace  // the device or the ARP wait queue had no room: the datagram was dropped
}

struct UDPSocketTable {
  static let ephemeralPorts: ClosedRange<UInt16> = 49152...65535

  struct Socket {
    var inUse = false
    var port: UInt16 = 0
    var generation: UInt32 = 0
    var firstRecord = 0
    var records = 0
    var firstByte = 0
    var bytes = 0
  }

  struct Record {
    var offset = 0
    var length = 0
    var source = IPv4Address.any
    var port: UInt16 = 0
  }

  private var sockets: [Socket]
  private var records: [Record]
  private let storage: FixedBytes
  let queueBytes: Int
  let queueDatagrams: Int
  private var nextEphemeral: UInt16 = ephemeralPorts.lowerBound

  init(configuration c: NetConfiguration) {
    queueBytes = c.udpQueueBytes
    queueDatagrams = c.udpQueueDatagrams
    sockets = [Socket](repeating: Socket(), count: c.udpSockets)
    records = [Record](repeating: Record(), count: c.udpSockets * c.udpQueueDatagrams)
    storage = FixedBytes(count: c.udpSockets * c.udpQueueBytes)
  }

  func isBound(_ port: UInt16) -> Bool { sockets.contains { $0.inUse && $0.port == port } }

  /// Binds `port`, or a free ephemeral port when it is 0. `reserved` is a
  /// port the stack keeps for itself (DHCP's 68 while its client runs).
  mutating func bind(port: UInt16, reserved: UInt16? = nil) throws(UDPError) -> UDPSocket {
    var chosen = port
    if port == 0 {
      var found = false
      for _ in Self.ephemeralPorts {
        let candidate = nextEphemeral
        nextEphemeral = candidate == Self.ephemeralPorts.upperBound ? Self.ephemeralPorts.lowerBound : candidate + 1
        if !isBound(candidate) && candidate != reserved {
          chosen = candidate
          found = true
          break
        }
      }
      guard found else { throw .addressInUse }
    } else if isBound(port) || port == reserved {
      throw .addressInUse
    }
    guard let i = sockets.firstIndex(where: { !$0.inUse }) else { throw .tableFull }
    let generation = sockets[i].generation
    sockets[i] = Socket(inUse: true, port: chosen, generation: generation)
    return UDPSocket(index: Int32(i), generation: generation)
  }

  /// The slot `socket` names, if it is still open.
  func slot(_ socket: UDPSocket) -> Int? {
    let i = Int(socket.index)
    guard i >= 0, i < sockets.count, sockets[i].inUse, sockets[i].generation == socket.generation else { return nil }
    return i
  }

  func port(of socket: UDPSocket) -> UInt16? { slot(socket).map { sockets[$0].port } }

  func slot(forPort port: UInt16) -> Int? { sockets.firstIndex { $0.inUse && $0.port == port } }

  func hasDatagram(_ slot: Int) -> Bool { sockets[slot].records > 0 }

  /// Queues one datagram on `slot`; false when its queue has no room.
  mutating func enqueue(_ slot: Int, source: IPv4Address, port: UInt16, bytes: UnsafeRawBufferPointer) -> Bool {
    var s = sockets[slot]
    guard s.records < queueDatagrams, bytes.count <= queueBytes - s.bytes else { return false }
    let ring = storage.slice(slot * queueBytes, queueBytes)
    let offset = (s.firstByte + s.bytes) % queueBytes
    let firstPart = min(bytes.count, queueBytes - offset)
    ring.copy(bytes.bytes(0, firstPart), to: offset)
    ring.copy(bytes.bytes(firstPart, bytes.count - firstPart), to: 0)
    records[slot * queueDatagrams + (s.firstRecord + s.records) % queueDatagrams] = Record(
      offset: offset, length: bytes.count, source: source, port: port)
    s.records += 1
    s.bytes += bytes.count
    sockets[slot] = s
    return true
  }

  /// Takes the oldest datagram of `slot` into `buffer`; a datagram longer
  /// than the buffer is cut to fit (the rest is discarded, as recv does).
  mutating func dequeue(_ slot: Int, into buffer: UnsafeMutableRawBufferPointer) -> (
    source: IPv4Address, port: UInt16, count: Int
  )? {
    var s = sockets[slot]
    guard s.records > 0 else { return nil }
    let r = records[slot * queueDatagrams + s.firstRecord]
    let ring = UnsafeRawBufferPointer(storage.slice(slot * queueBytes, queueBytes))
    let count = min(r.length, buffer.count)
    let firstPart = min(count, queueBytes - r.offset)
    buffer.copy(ring.bytes(r.offset, firstPart), to: 0)
    buffer.copy(ring.bytes(0, count - firstPart), to: firstPart)
    s.firstRecord = (s.firstRecord + 1) % queueDatagrams
    s.records -= 1
    s.firstByte = (s.firstByte + r.length) % queueBytes
    s.bytes -= r.length
    if s.records == 0 { s.firstByte = 0 }
    sockets[slot] = s
    return (r.source, r.port, count)
  }

  /// Frees the slot and discards its queue; false when `socket` was not open.
  mutating func close(_ socket: UDPSocket) -> Bool {
    guard let i = slot(socket) else { return false }
    sockets[i] = Socket(generation: sockets[i].generation &+ 1)
    return true
  }
}
