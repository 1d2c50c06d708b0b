// The ARP cache and the wait queue of frames for addresses being resolved
// (RFC 826, RFC 1122 §2.3.2). Both are bounded: a fixed number of entries
// that expire (the oldest is replaced when full), a fixed number of
// addresses being resolved, and a fixed number of frames held for each.
// Only unicast MACs ever enter the cache. This is bookkeeping only: the
// link layer (LinkLayerARP.swift) decides what to learn and sends frames.

struct ARPCache {
  struct Entry {
    var address = IPv4Address.any
    var mac = MACAddress.zero
    var expires: UInt64 = 0
    var inUse = false
  }

  /// An address being resolved, with the frames waiting for its MAC.
  struct Pending {
    var address = IPv4Address.any
    var inUse = false
    var nextRequest: UInt64 = 0
    var requestsSent = 0
    var frames = 0
  }

  static let frameSlot = EthernetHeader.maxFrame

  private(set) var entries: [Entry]
  private(set) var pending: [Pending]
  private var frameLengths: [Int]
  private let pool: FixedBytes
  let lifetime: UInt64
  let retryInterval: UInt64
  let maxRequests: Int
  let framesPerAddress: Int

  init(configuration c: NetConfiguration) {
    entries = [Entry](repeating: Entry(), count: c.arpCacheEntries)
    pending = [Pending](repeating: Pending(), count: c.arpPendingAddresses)
    frameLengths = [Int](repeating: 0, count: c.arpPendingAddresses * c.arpFramesPerAddress)
    pool = FixedBytes(count: c.arpPendingAddresses * c.arpFramesPerAddress * Self.frameSlot)
    lifetime = c.arpLifetime
    retryInterval = c.arpRetryInterval
    maxRequests = c.arpRequests
    framesPerAddress = c.arpFramesPerAddress
  }

  // MARK: the cache

  /// The MAC for `address`, unless it is missing or has expired.
  func lookup(_ address: IPv4Address, now: UInt64) -> MACAddress? {
    for e in entries where e.inUse && e.address == address {
      return now < e.expires ? e.mac : nil
    }
    return nil
  }

  /// RFC 826's merge step: refreshes the entry for `address` if there is
  /// one, and says whether there was.
  mutating func update(_ address: IPv4Address, mac: MACAddress, now: UInt64) -> Bool {
    precondition(mac.isUnicast, "only unicast MACs are cached")
    for i in entries.indices where entries[i].inUse && entries[i].address == address {
      entries[i].mac = mac
      entries[i].expires = now &+ lifetime
      return true
    }
    return false
  }

  /// Adds or refreshes an entry; when the cache is full, an expired entry
  /// or else the one closest to expiry (the least recently learned) goes.
  mutating func insert(_ address: IPv4Address, mac: MACAddress, now: UInt64) {
    if update(address, mac: mac, now: now) { return }
    var victim = 0
    for i in entries.indices {
      if !entries[i].inUse || entries[i].expires <= now {
        victim = i
        break
      }
      if entries[i].expires < entries[victim].expires { victim = i }
    }
    entries[victim] = Entry(address: address, mac: mac, expires: now &+ lifetime, inUse: true)
  }

  mutating func removeAll() {
    for i in entries.indices { entries[i].inUse = false }
  }

  var count: Int { entries.reduce(0) { $0 + ($1.inUse ? 1 : 0) } }

  // MARK: the wait queue

  func pendingIndex(for address: IPv4Address) -> Int? {
    for i in pending.indices where pending[i].inUse && pending[i].address == address { return i }
    return nil
  }

  /// A pending slot for `address` with room for `frames` more frames, or nil
  /// (every slot busy, or this address's queue too full). A new slot counts
  /// its first request as sent now.
  mutating func reserve(_ address: IPv4Address, frames: Int, now: UInt64) -> (index: Int, isNew: Bool)? {
    if let i = pendingIndex(for: address) {
      return pending[i].frames + frames <= framesPerAddress ? (i, false) : nil
    }
    guard frames <= framesPerAddress, let i = pending.firstIndex(where: { !$0.inUse }) else { return nil }
    pending[i] = Pending(address: address, inUse: true, nextRequest: now &+ retryInterval, requestsSent: 1, frames: 0)
    return (i, true)
  }

  /// Where the next frame of pending slot `i` is built; `commitFrame` keeps it.
  func nextFrameBuffer(_ i: Int) -> UnsafeMutableRawBufferPointer {
    precondition(pending[i].frames < framesPerAddress)
    return pool.slice((i * framesPerAddress + pending[i].frames) * Self.frameSlot, Self.frameSlot)
  }

  mutating func commitFrame(_ i: Int, length: Int) {
    precondition(length > 0 && length <= Self.frameSlot)
    frameLengths[i * framesPerAddress + pending[i].frames] = length
    pending[i].frames += 1
  }

  /// Frame `j` waiting in slot `i`, as built.
  func frame(_ i: Int, _ j: Int) -> UnsafeMutableRawBufferPointer {
    precondition(j < pending[i].frames)
    return pool.slice((i * framesPerAddress + j) * Self.frameSlot, frameLengths[i * framesPerAddress + j])
  }

  mutating func release(_ i: Int) { pending[i] = Pending() }

  mutating func noteRequest(_ i: Int, now: UInt64) {
    pending[i].requestsSent += 1
    pending[i].nextRequest = now &+ retryInterval
  }

  /// The earliest retry or give-up time of an address being resolved.
  var nextDeadline: UInt64? {
    var earliest: UInt64? = nil
    for p in pending where p.inUse { earliest = Deadline.earliest(earliest, p.nextRequest) }
    return earliest
  }
}
