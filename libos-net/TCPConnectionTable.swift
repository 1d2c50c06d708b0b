// The connection table: a fixed number of slots (listeners and connections
// alike) with a generation per slot, found by a linear scan (the table is
// small; no Dictionary, whose hashing would want an entropy source), and
// the ephemeral ports for active opens (RFC 6335 §6: 49152-65535).

struct TCPConnectionTable {
  static let firstEphemeralPort: UInt16 = 49152
  private(set) var slots: [TCPControlBlock?]
  private var generations: [UInt32]
  private var nextPort: UInt16

  init(capacity: Int, seed: UInt64) {
    slots = [TCPControlBlock?](repeating: nil, count: capacity)
    generations = [UInt32](repeating: 0, count: capacity)
    let span = UInt64(UInt16.max - TCPConnectionTable.firstEphemeralPort) + 1
    nextPort =
      TCPConnectionTable.firstEphemeralPort
      + UInt16(TCPInitialSequence.derived(from: seed, 0) % span)
  }

  var capacity: Int { slots.count }

  func block(_ id: TCPConnectionID) -> TCPControlBlock? {
    let i = Int(id.index)
    guard i >= 0, i < slots.count, generations[i] == id.generation else { return nil }
    return slots[i]
  }

  /// An empty slot, or failing that one whose connection has ended and
  /// which the app has closed (reclaimed: its id stops working).
  mutating func freeIndex() -> Int? {
    if let i = slots.firstIndex(where: { $0 == nil }) { return i }
    guard let i = slots.firstIndex(where: { $0?.isReclaimable == true }) else { return nil }
    release(i)
    return i
  }

  mutating func install(at index: Int, _ make: (TCPConnectionID) -> TCPControlBlock) -> TCPControlBlock {
    let block = make(TCPConnectionID(index: Int32(index), generation: generations[index]))
    slots[index] = block
    return block
  }

  /// Empties a slot; ids naming its old occupant stop working.
  mutating func release(_ index: Int) {
    guard index >= 0, index < slots.count, slots[index] != nil else { return }
    slots[index] = nil
    generations[index] &+= 1
  }

  /// The live connection for a 4-tuple (not listeners, not closed ones).
  func find(local: IPv4Address, localPort: UInt16, remote: IPv4Address, remotePort: UInt16) -> Int? {
    slots.firstIndex { b in
      guard let b, b.state != .listen, b.state != .closed else { return false }
      return b.localPort == localPort && b.remotePort == remotePort && b.localAddress == local
        && b.remoteAddress == remote
    }
  }

  func listener(port: UInt16) -> Int? {
    slots.firstIndex { b in b?.state == .listen && b?.localPort == port }
  }

  /// A listener's connections not yet accepted (SYN-RECEIVED ones included):
  /// what the backlog bounds.
  func pendingCount(of listener: TCPConnectionID) -> Int {
    slots.reduce(0) { n, b in b?.listener == listener ? n + 1 : n }
  }

  /// A port is in use while a listener or a connection not yet CLOSED holds it.
  func portInUse(_ port: UInt16) -> Bool {
    slots.contains { b in b?.localPort == port && b?.state != .closed }
  }

  /// The next ephemeral port no slot uses, or nil when all are taken.
  mutating func ephemeralPort() -> UInt16? {
    let first = TCPConnectionTable.firstEphemeralPort
    for _ in 0...Int(UInt16.max - first) {
      let port = nextPort
      nextPort = nextPort == UInt16.max ? first : nextPort + 1
      if !portInUse(port) { return port }
    }
    return nil
  }
}
