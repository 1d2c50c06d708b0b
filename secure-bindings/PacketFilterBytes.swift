// A filter seen byte by byte: for every (base, offset) it tests, the merged
// mask and value of all atoms that cover that byte, in canonical order. Atoms
// may split a field any way they like (a MAC as 4 + 2 bytes or as six 1-byte
// atoms); this view is the same for every split, so the ownership proof, the
// conflict check and the table's shapes reason on it rather than on atoms.

/// What a filter demands of one byte.
struct ByteTest: Equatable, Sendable {
  var base: FilterBase
  var offset: UInt16
  var mask: UInt8
  var value: UInt8

  /// Canonical order: frame bytes first, then IP-payload bytes, each by offset.
  var position: UInt32 { UInt32(base.rawValue) << 16 | UInt32(offset) }
}

struct FilterBytes: Sendable {
  /// 12 atoms of 4 bytes.
  static let capacity = 48

  private(set) var tests: InlineArray<48, ByteTest>
  private(set) var count = 0
  /// How many bytes from each base the filter reads (the largest offset + size
  /// of its atoms), tested bits or not: a frame shorter than that never matches.
  /// `payloadNeed > 0` exactly when the filter has an `.ipPayload` atom.
  private(set) var frameNeed = 0
  private(set) var payloadNeed = 0

  /// Merges the atoms' bytes. Bytes under a zero mask are left out (they
  /// constrain nothing but the length, which the needs record). A verified
  /// filter has no contradictions, so merging never loses a demand.
  init(_ filter: PacketFilter) {
    tests = InlineArray(repeating: ByteTest(base: .frame, offset: 0, mask: 0, value: 0))
    for a in 0..<filter.count {
      let atom = filter[a]
      let end = Int(atom.offset) + Int(atom.size)
      switch atom.base {
      case .frame: frameNeed = max(frameNeed, end)
      case .ipPayload: payloadNeed = max(payloadNeed, end)
      }
      for i in 0..<Int(atom.size) {
        let (mask, value) = atom.byte(i)
        if mask != 0 { add(ByteTest(base: atom.base, offset: atom.offset &+ UInt16(i), mask: mask, value: value)) }
      }
    }
  }

  /// Insertion into the sorted list; at most 48 entries, so linear is fine.
  private mutating func add(_ test: ByteTest) {
    var at = 0
    while at < count && tests[at].position < test.position { at += 1 }
    if at < count && tests[at].position == test.position {
      tests[at].mask |= test.mask
      tests[at].value |= test.value
      return
    }
    precondition(count < Self.capacity)  // 12 atoms cover at most 48 bytes
    var i = count
    while i > at {
      tests[i] = tests[i - 1]
      i -= 1
    }
    tests[at] = test
    count += 1
  }

  func test(_ base: FilterBase, _ offset: Int) -> ByteTest? {
    guard offset >= 0 && offset <= 0xffff else { return nil }
    let position = UInt32(base.rawValue) << 16 | UInt32(offset)
    for i in 0..<count where tests[i].position == position { return tests[i] }
    return nil
  }

  /// Whether every frame the filter matches has `value` in that byte.
  func pins(_ base: FilterBase, _ offset: Int, _ value: UInt8) -> Bool {
    guard let t = test(base, offset) else { return false }
    return t.mask == 0xff && t.value == value
  }

  /// Same bytes tested under the same masks, same lengths read: two filters of
  /// one shape differ only in the values they demand.
  func sameShape(as other: FilterBytes) -> Bool {
    guard count == other.count, frameNeed == other.frameNeed, payloadNeed == other.payloadNeed else { return false }
    for i in 0..<count where tests[i].position != other.tests[i].position || tests[i].mask != other.tests[i].mask {
      return false
    }
    return true
  }
}
