// The merged lookup: every env's bound filters in one table, so that the
// kernel finds a received frame's owner without running every filter
// (the merging that DPF does by compiling filters into one trie [Engler96 §3];
// here by hashing, which needs no code generation).
//
// How: filters are grouped by *shape*, the canonical byte-by-byte list of
// (base, offset, mask) they test plus the lengths they read (PacketFilterBytes).
// Filters of one shape differ only in the values they demand, so a frame can
// match at most the filter(s) whose values equal the frame's own bytes at the
// shape's positions: the frame's bytes there are a hash key. In practice there
// are three shapes however many envs run (unicast MAC, ARP for an IPv4
// address, DHCP reply for a MAC), because every libOS binds the filters
// `PacketFilter.unicast`, `.arpRequests` and `.dhcpReplies` build.
//
// Cost model (what the evaluation measures against):
// - `lookup`: for each live shape (at most `shapes.count`, fixed at boot; 3 in
//   practice), check the frame's length and IPv4 header, read the shape's
//   bytes (at most 48; 6, 12 and 17 for the three usual shapes), hash them,
//   and probe one open-addressing table (linear probing, load factor at most
//   1/2, no tombstones: expected under two buckets per probe). A candidate is
//   confirmed by running its filter (at most 12 atoms), so a hash collision
//   costs time, never a wrong answer. Nothing here grows with the number of
//   filters or envs, except that keys an env chooses to collide all land in one
//   probe run; bounding each env's filter count (kernel policy) bounds that, and
//   the `seed` the kernel passes at boot makes collisions harder to aim.
// - `insert`: one `mayOverlap` per bound filter (the conflict check must see
//   them all), then a shape search and one bucket insert: O(capacity), at bind time.
// - `remove`: one probe run plus backward-shift deletion (Knuth, TAOCP vol. 3
//   §6.4 Algorithm R), so removals leave no tombstones that would slow lookups.
// - No allocation anywhere: slots, shapes and buckets are the caller's buffers,
//   sized at boot like GrantTable's.
//
// Every frame has at most one owner: `insert` refuses a filter that may
// overlap another owner's, and `mayOverlap` is false only for filters no frame
// can match together. So "the owner of the first matching filter" is the
// owner of every matching filter, whatever order they were bound in.

/// Names a bound filter: slot index in the low 16 bits, the slot's generation in
/// the high 16, so an id kept after its filter was removed names nothing.
public struct FilterID: Equatable, Sendable {
  public let raw: UInt32
  public init(raw: UInt32) { self.raw = raw }
  init(slot: Int, generation: UInt16) { raw = UInt32(generation) << 16 | UInt32(slot) }
  var slot: Int { Int(raw & 0xffff) }
  var generation: UInt16 { UInt16(truncatingIfNeeded: raw >> 16) }
}

public struct PacketFilterTable {
  /// One bound filter. Opaque to the caller, who only provides the storage.
  public struct Slot: Sendable {
    var filter = PacketFilter()
    var owner: UInt16 = 0
    var shape = 0
    var hash: UInt64 = 0
    var generation: UInt16 = 0
    var live = false
    public init() {}
  }

  /// One shape and how many bound filters have it; free when none has.
  public struct Shape: Sendable {
    var bytes = FilterBytes(PacketFilter())
    var filters = 0
    public init() {}
  }

  private let slots: UnsafeMutableBufferPointer<Slot>
  private let shapes: UnsafeMutableBufferPointer<Shape>
  /// Slot index + 1, or 0 for an empty bucket.
  private let buckets: UnsafeMutableBufferPointer<UInt16>
  private let seed: UInt64
  public private(set) var count = 0
  public private(set) var shapeCount = 0

  /// The bucket count to give `init` for `capacity` filters: a power of two, at
  /// least twice the capacity, so probe runs stay short and always end.
  public static func bucketCount(forCapacity capacity: Int) -> Int {
    var n = 1
    while n < 2 * capacity { n *= 2 }
    return n
  }

  /// Storage is the caller's (sized at boot; trusted, hence preconditions);
  /// every slot, shape and bucket starts empty.
  public init(
    slots: UnsafeMutableBufferPointer<Slot>, shapes: UnsafeMutableBufferPointer<Shape>,
    buckets: UnsafeMutableBufferPointer<UInt16>, seed: UInt64 = 0
  ) {
    precondition(slots.count <= 0xfffe)
    precondition(buckets.count > 0 && buckets.count & (buckets.count - 1) == 0 && buckets.count >= 2 * slots.count)
    self.slots = slots
    self.shapes = shapes
    self.buckets = buckets
    self.seed = seed
    for i in 0..<slots.count { slots[i] = Slot() }
    for i in 0..<shapes.count { shapes[i] = Shape() }
    for i in 0..<buckets.count { buckets[i] = 0 }
  }

  public var capacity: Int { slots.count }

  /// Binds `filter` to `owner`. Refuses `.conflict` when it may overlap a filter
  /// of another owner (overlap with the owner's own filters is fine),
  /// `.tableFull`, and `.tooManyShapes` when its shape is new and no shape slot is free.
  public mutating func insert(_ filter: PacketFilter, owner: UInt16) throws(FilterError) -> FilterID {
    for i in 0..<slots.count where slots[i].live && slots[i].owner != owner {
      if PacketFilter.mayOverlap(filter, slots[i].filter) { throw .conflict(owner: slots[i].owner) }
    }
    var free = -1
    for i in 0..<slots.count where !slots[i].live {
      free = i
      break
    }
    guard free >= 0 else { throw .tableFull }

    let bytes = FilterBytes(filter)
    var shape = -1
    var unusedShape = -1
    for s in 0..<shapes.count {
      if shapes[s].filters > 0 {
        if shapes[s].bytes.sameShape(as: bytes) {
          shape = s
          break
        }
      } else if unusedShape < 0 {
        unusedShape = s
      }
    }
    if shape < 0 {
      guard unusedShape >= 0 else { throw .tooManyShapes }
      shape = unusedShape
      shapes[shape].bytes = bytes  // its values are never read, only positions and masks
      shapeCount += 1
    }
    shapes[shape].filters += 1

    var hash = start(shape)
    for i in 0..<bytes.count { hash = Self.mix(hash, bytes.tests[i].value) }
    hash = Self.finish(hash)

    slots[free].filter = filter
    slots[free].owner = owner
    slots[free].shape = shape
    slots[free].hash = hash
    slots[free].live = true
    var b = bucket(hash)
    while buckets[b] != 0 { b = next(b) }
    buckets[b] = UInt16(free + 1)
    count += 1
    return FilterID(slot: free, generation: slots[free].generation)
  }

  /// The owner of a bound filter; nil for an id that names none (never bound,
  /// removed since, or made up by an env).
  public func owner(of id: FilterID) -> UInt16? {
    guard let s = live(id) else { return nil }
    return slots[s].owner
  }

  public func filter(_ id: FilterID) -> PacketFilter? {
    guard let s = live(id) else { return nil }
    return slots[s].filter
  }

  /// Unbinds the filter; false when `id` names none.
  @discardableResult
  public mutating func remove(_ id: FilterID) -> Bool {
    guard let s = live(id) else { return false }
    // The slot is in exactly one bucket of its hash's probe run.
    var hole = bucket(slots[s].hash)
    while buckets[hole] != UInt16(s + 1) { hole = next(hole) }
    buckets[hole] = 0
    // Backward shift: pull later entries of the run into the hole unless their
    // home bucket lies cyclically in (hole, at], where they must stay.
    var at = hole
    while true {
      at = next(at)
      let entry = buckets[at]
      if entry == 0 { break }
      let home = bucket(slots[Int(entry) - 1].hash)
      let stays = hole <= at ? (hole < home && home <= at) : (hole < home || home <= at)
      if stays { continue }
      buckets[hole] = entry
      buckets[at] = 0
      hole = at
    }

    let shape = slots[s].shape
    shapes[shape].filters -= 1
    if shapes[shape].filters == 0 { shapeCount -= 1 }
    slots[s].live = false
    slots[s].generation &+= 1
    count -= 1
    return true
  }

  /// Unbinds every filter of `owner` (at env exit); returns how many.
  @discardableResult
  public mutating func removeAll(owner: UInt16) -> Int {
    var removed = 0
    for i in 0..<slots.count where slots[i].live && slots[i].owner == owner {
      if remove(FilterID(slot: i, generation: slots[i].generation)) { removed += 1 }
    }
    return removed
  }

  /// The owner of the filter that matches `frame`, if one does.
  public func lookup(_ frame: UnsafeRawBufferPointer) -> UInt16? {
    var probes = 0
    return lookup(frame, probes: &probes)
  }

  /// `lookup`, counting the buckets it reads (for the cost-model test).
  func lookup(_ frame: UnsafeRawBufferPointer, probes: inout Int) -> UInt16? {
    guard count > 0 else { return nil }
    for s in 0..<shapes.count where shapes[s].filters > 0 {
      guard let hash = key(of: frame, shape: s) else { continue }
      var b = bucket(hash)
      while buckets[b] != 0 {
        probes += 1
        let slot = Int(buckets[b]) - 1
        if slots[slot].hash == hash && slots[slot].shape == s && slots[slot].filter.matches(frame) {
          return slots[slot].owner
        }
        b = next(b)
      }
    }
    return nil
  }

  /// The hash of the frame's bytes at the shape's positions, or nil when the
  /// frame is too short for the shape or lacks the IPv4 header its
  /// `.ipPayload` bytes need (then no filter of the shape can match).
  private func key(of frame: UnsafeRawBufferPointer, shape s: Int) -> UInt64? {
    let frameNeed = shapes[s].bytes.frameNeed
    let payloadNeed = shapes[s].bytes.payloadNeed
    guard frame.count >= frameNeed else { return nil }
    var payload = 0
    if payloadNeed > 0 {
      guard let start = PacketFilter.ipPayloadStart(frame), start + payloadNeed <= frame.count else { return nil }
      payload = start
    }
    // Every position is below its base's need, so every read is in bounds.
    var hash = start(s)
    for i in 0..<shapes[s].bytes.count {
      let t = shapes[s].bytes.tests[i]
      let at = t.base == .frame ? Int(t.offset) : payload + Int(t.offset)
      hash = Self.mix(hash, frame[at] & t.mask)
    }
    return Self.finish(hash)
  }

  private func live(_ id: FilterID) -> Int? {
    let s = id.slot
    guard s < slots.count, slots[s].live, slots[s].generation == id.generation else { return nil }
    return s
  }

  // FNV-1a over the key bytes, started from the seed and the shape, then the
  // SplitMix64 finalizer so the low bits that pick a bucket depend on every byte.
  private func start(_ shape: Int) -> UInt64 { seed ^ ((UInt64(shape) &+ 1) &* 0x9E37_79B9_7F4A_7C15) }
  private static func mix(_ h: UInt64, _ byte: UInt8) -> UInt64 { (h ^ UInt64(byte)) &* 0x100_0000_01B3 }
  private static func finish(_ h: UInt64) -> UInt64 {
    var z = h
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  private func bucket(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash) & (buckets.count - 1) }
  private func next(_ b: Int) -> Int { (b + 1) & (buckets.count - 1) }
}
