// The verifier: turns an env's untrusted filter program (or a list of atoms)
// into a `PacketFilter`, or says exactly why not. Everything the interpreter,
// the ownership proof and the conflict check rely on is established here, once.

/// Why a filter program was refused, or why the table would not take a filter.
/// Atom numbers count records from 0, in program order.
public enum FilterError: Error, Equatable, Sendable {
  /// Shorter than the header.
  case tooShort
  case badMagic
  /// The header's atom count is 0.
  case emptyFilter
  /// More than `PacketFilter.maxAtoms` atoms.
  case tooManyAtoms
  /// The byte count is not header + count * 16.
  case lengthMismatch
  case badBase(atom: Int)
  /// Size other than 1, 2 or 4.
  case badSize(atom: Int)
  /// offset + size exceeds `PacketFilter.maxFrameLength`.
  case offsetOutOfRange(atom: Int)
  case maskWiderThanSize(atom: Int)
  case valueOutsideMask(atom: Int)
  case reservedNotZero(atom: Int)
  /// An `.ipPayload` atom in a filter that does not pin frame bytes 12..13 to 0x0800.
  case ipPayloadWithoutIPv4
  /// The two atoms demand different values of the same bits: the filter could never match.
  case contradictory(Int, Int)
  /// The table has no free slot.
  case tableFull
  /// The filter's shape is new and the table holds as many shapes as it can.
  case tooManyShapes
  /// The filter may match a frame that a filter of this other owner matches.
  case conflict(owner: UInt16)

  public var reason: StaticString {
    switch self {
    case .tooShort: return "program shorter than its header"
    case .badMagic: return "bad magic"
    case .emptyFilter: return "filter has no atoms"
    case .tooManyAtoms: return "more than 12 atoms"
    case .lengthMismatch: return "program length does not match its atom count"
    case .badBase: return "atom base is neither frame nor IP payload"
    case .badSize: return "atom size is not 1, 2 or 4"
    case .offsetOutOfRange: return "atom reads past the largest frame"
    case .maskWiderThanSize: return "atom mask has bits outside its size"
    case .valueOutsideMask: return "atom value has bits outside its mask"
    case .reservedNotZero: return "atom reserved word is not zero"
    case .ipPayloadWithoutIPv4: return "IP-payload atom in a filter that does not pin the ethertype to IPv4"
    case .contradictory: return "two atoms demand different values of the same bits"
    case .tableFull: return "packet filter table is full"
    case .tooManyShapes: return "packet filter table holds as many filter shapes as it can"
    case .conflict: return "filter may match frames another env's filter matches"
    }
  }
}

extension PacketFilter {
  /// Verifies an env's program. Reads nothing outside `bytes`, does no
  /// arithmetic that can overflow on hostile counts, and allocates nothing.
  public static func decode(_ bytes: UnsafeRawBufferPointer) throws(FilterError) -> PacketFilter {
    guard bytes.count >= headerSize else { throw .tooShort }
    guard le32(bytes, 0) == magic else { throw .badMagic }
    let declared = le32(bytes, 4)
    guard declared != 0 else { throw .emptyFilter }
    guard declared <= UInt32(maxAtoms) else { throw .tooManyAtoms }
    let count = Int(declared)
    guard bytes.count == headerSize + count * recordSize else { throw .lengthMismatch }

    var filter = PacketFilter()
    for i in 0..<count {
      let at = headerSize + i * recordSize
      guard let base = FilterBase(rawValue: bytes[at]) else { throw .badBase(atom: i) }
      let atom = FilterAtom(
        base: base, offset: UInt16(bytes[at + 2]) | UInt16(bytes[at + 3]) << 8, size: bytes[at + 1],
        mask: le32(bytes, at + 4), value: le32(bytes, at + 8))
      try check(atom, i)
      guard le32(bytes, at + 12) == 0 else { throw .reservedNotZero(atom: i) }
      filter.atomStorage[i] = atom
      filter.count = i + 1
    }
    try filter.checkWhole()
    return filter
  }

  /// The same checks as `decode`, for a filter built in code (the libOS, tests).
  public init(atoms: [FilterAtom]) throws(FilterError) {
    guard !atoms.isEmpty else { throw .emptyFilter }
    guard atoms.count <= Self.maxAtoms else { throw .tooManyAtoms }
    self.init()
    for (i, atom) in atoms.enumerated() {
      try Self.check(atom, i)
      atomStorage[i] = atom
      count = i + 1
    }
    try checkWhole()
  }

  private static func check(_ atom: FilterAtom, _ i: Int) throws(FilterError) {
    guard atom.size == 1 || atom.size == 2 || atom.size == 4 else { throw .badSize(atom: i) }
    guard Int(atom.offset) + Int(atom.size) <= maxFrameLength else { throw .offsetOutOfRange(atom: i) }
    let sizeMask: UInt32 = atom.size == 4 ? 0xffff_ffff : (UInt32(1) << (8 * UInt32(atom.size))) - 1
    guard atom.mask & ~sizeMask == 0 else { throw .maskWiderThanSize(atom: i) }
    guard atom.value & ~atom.mask == 0 else { throw .valueOutsideMask(atom: i) }
  }

  /// Checks across atoms: contradictions, then the IPv4 pin `.ipPayload` atoms need.
  private func checkWhole() throws(FilterError) {
    // A contradiction is always between two atoms (one demands a bit be 0, the
    // other 1), so checking pairs finds every one. Different bases are not
    // comparable: their bytes may or may not coincide depending on the frame.
    for i in 0..<count {
      for j in (i + 1)..<count where Self.contradict(atomStorage[i], atomStorage[j]) {
        throw .contradictory(i, j)
      }
    }
    var hasPayloadAtom = false
    for i in 0..<count where atomStorage[i].base == .ipPayload { hasPayloadAtom = true }
    if hasPayloadAtom {
      // Reasoned per byte, like the ownership proof, so a split pin counts too.
      let bytes = FilterBytes(self)
      guard bytes.pins(.frame, 12, 0x08), bytes.pins(.frame, 13, 0x00) else { throw .ipPayloadWithoutIPv4 }
    }
  }

  private static func contradict(_ a: FilterAtom, _ b: FilterAtom) -> Bool {
    guard a.base == b.base else { return false }
    for i in 0..<Int(a.size) {
      let position = Int(a.offset) + i
      let j = position - Int(b.offset)
      guard j >= 0 && j < Int(b.size) else { continue }
      let (am, av) = a.byte(i)
      let (bm, bv) = b.byte(j)
      if am & bm & (av ^ bv) != 0 { return true }
    }
    return false
  }

  private static func le32(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
    UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
  }
}

extension FilterAtom {
  /// The mask and value of the atom's `index`-th byte in frame order (big-endian).
  func byte(_ index: Int) -> (mask: UInt8, value: UInt8) {
    let shift = UInt32(8 * (Int(size) - 1 - index))
    return (UInt8(truncatingIfNeeded: mask >> shift), UInt8(truncatingIfNeeded: value >> shift))
  }
}

extension FilterError {
  /// The code `net_bind` returns with bad_filter: the case in the low byte,
  /// the atom it names (if any) in the next.
  public var code: UInt64 {
    switch self {
    case .tooShort: return 1
    case .badMagic: return 2
    case .emptyFilter: return 3
    case .tooManyAtoms: return 4
    case .lengthMismatch: return 5
    case .badBase(let atom): return 6 | UInt64(atom) << 8
    case .badSize(let atom): return 7 | UInt64(atom) << 8
    case .offsetOutOfRange(let atom): return 8 | UInt64(atom) << 8
    case .maskWiderThanSize(let atom): return 9 | UInt64(atom) << 8
    case .valueOutsideMask(let atom): return 10 | UInt64(atom) << 8
    case .reservedNotZero(let atom): return 11 | UInt64(atom) << 8
    case .ipPayloadWithoutIPv4: return 12
    case .contradictory(let a, _): return 13 | UInt64(a) << 8
    case .tableFull: return 14
    case .tooManyShapes: return 15
    case .conflict: return 16
    }
  }

  /// The code for a well-formed filter that does not prove the env's binding.
  public static let notOwnerCode: UInt64 = 17
}
