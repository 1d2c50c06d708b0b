// Host tests of the packet-filter language: the verifier against every kind of
// malformed program and random bytes, the interpreter against a reference
// matcher on hostile frames, the ownership proof, the conflict check, and the
// merged lookup table against a linear scan.
import XCTest

@testable import SecureBindings


/// One record of the binary encoding, with every field free (so it can be wrong).
private struct Record {
  var base: UInt8 = 0
  var size: UInt8
  var offset: UInt16
  var mask: UInt32
  var value: UInt32
  var reserved: UInt32 = 0
}

private func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }

private func program(_ records: [Record], magic: UInt32 = PacketFilter.magic, count: UInt32? = nil) -> [UInt8] {
  var bytes = le32(magic) + le32(count ?? UInt32(records.count))
  for r in records {
    bytes += [r.base, r.size, UInt8(r.offset & 0xff), UInt8(r.offset >> 8)]
    bytes += le32(r.mask) + le32(r.value) + le32(r.reserved)
  }
  return bytes
}

private func decode(_ bytes: [UInt8]) -> Result<PacketFilter, FilterError> {
  bytes.withUnsafeBytes { buffer in
    do throws(FilterError) { return .success(try PacketFilter.decode(buffer)) } catch { return .failure(error) }
  }
}

private func decodeError(_ bytes: [UInt8]) -> FilterError? {
  if case .failure(let e) = decode(bytes) { return e }
  return nil
}

private func encoded(_ filter: PacketFilter) -> [UInt8] {
  var bytes = [UInt8](repeating: 0, count: filter.encodedCount)
  let written = bytes.withUnsafeMutableBytes { filter.encode(into: $0) }
  XCTAssertEqual(written, filter.encodedCount)
  return bytes
}

private func atoms(_ filter: PacketFilter) -> [FilterAtom] { (0..<filter.count).map { filter[$0] } }

private func matches(_ filter: PacketFilter, _ frame: [UInt8]) -> Bool {
  frame.withUnsafeBytes { filter.matches($0) }
}

/// The reference matcher: the language's meaning written as plainly as possible.
private func referenceMatches(_ atoms: [FilterAtom], _ frame: [UInt8]) -> Bool {
  var payload: Int? = nil
  if frame.count >= 15 {
    let version = frame[14] >> 4
    let ihl = Int(frame[14] & 0x0f)
    if version == 4 && ihl >= 5 && 14 + 4 * ihl <= frame.count { payload = 14 + 4 * ihl }
  }
  for atom in atoms {
    var start = Int(atom.offset)
    if atom.base == .ipPayload {
      guard let p = payload else { return false }
      start += p
    }
    if start + Int(atom.size) > frame.count { return false }
    var word: UInt32 = 0
    for byte in frame[start..<(start + Int(atom.size))] { word = word << 8 | UInt32(byte) }
    if word & atom.mask != atom.value { return false }
  }
  return true
}

private func filter(_ atoms: [FilterAtom]) -> PacketFilter {
  do { return try PacketFilter(atoms: atoms) } catch {
    XCTFail("filter refused: \(error)")
    return PacketFilter.unicast(mac: 0x02_00_00_00_00_00)
  }
}

private func macBytes(_ mac: UInt64) -> [UInt8] {
  (0..<6).map { UInt8(truncatingIfNeeded: mac >> UInt64(40 - 8 * $0)) }
}
private func ipBytes(_ ip: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: ip >> UInt32(24 - 8 * $0)) } }

// Three envs' boot configurations.
private let macA: UInt64 = 0x02_00_00_00_00_0a
private let macB: UInt64 = 0x02_00_00_00_00_0b
private let macC: UInt64 = 0x02_00_00_00_01_0a
private let ipA: UInt32 = 0x0a00_0264  // 10.0.2.100
private let ipB: UInt32 = 0x0a00_0265
private let ipC: UInt32 = 0x0a00_0266
private let broadcastMAC: UInt64 = 0xffff_ffff_ffff

// Frames as they arrive.
private func ethernet(to mac: UInt64, type: UInt16, length: Int = 60) -> [UInt8] {
  var f = [UInt8](repeating: 0, count: max(length, 14))
  f.replaceSubrange(0..<6, with: macBytes(mac))
  f.replaceSubrange(6..<12, with: macBytes(0x52_54_00_12_34_56))
  f[12] = UInt8(type >> 8)
  f[13] = UInt8(type & 0xff)
  return f
}

private func arpRequest(for ip: UInt32) -> [UInt8] {
  var f = ethernet(to: broadcastMAC, type: 0x0806, length: 60)
  f.replaceSubrange(14..<22, with: [0, 1, 8, 0, 6, 4, 0, 1])
  f.replaceSubrange(38..<42, with: ipBytes(ip))
  return f
}

/// A UDP datagram to port 68 whose BOOTP chaddr is `chaddr`, behind an IPv4 header of `ihl` words.
private func dhcpReply(to chaddr: UInt64, ihl: Int = 5, destination: UInt64 = broadcastMAC) -> [UInt8] {
  let payload = 14 + 4 * ihl
  var f = ethernet(to: destination, type: 0x0800, length: payload + 8 + 240)
  f[14] = 0x40 | UInt8(ihl)
  f[23] = 17
  f[payload + 1] = 67
  f[payload + 3] = 68
  f[payload + 8] = 2  // BOOTREPLY
  f.replaceSubrange((payload + 36)..<(payload + 42), with: macBytes(chaddr))
  return f
}

/// Caller-provided table storage that lives as long as the test needs it.
private final class TableStorage {
  let slots: UnsafeMutableBufferPointer<PacketFilterTable.Slot>
  let shapes: UnsafeMutableBufferPointer<PacketFilterTable.Shape>
  let buckets: UnsafeMutableBufferPointer<UInt16>
  var table: PacketFilterTable

  init(capacity: Int, shapes shapeCount: Int = 8, seed: UInt64 = 0x5EED) {
    slots = .allocate(capacity: capacity)
    shapes = .allocate(capacity: shapeCount)
    buckets = .allocate(capacity: PacketFilterTable.bucketCount(forCapacity: capacity))
    table = PacketFilterTable(slots: slots, shapes: shapes, buckets: buckets, seed: seed)
  }

  deinit {
    slots.deallocate()
    shapes.deallocate()
    buckets.deallocate()
  }

  func insert(_ filter: PacketFilter, owner: UInt16) -> Result<FilterID, FilterError> {
    do throws(FilterError) { return .success(try table.insert(filter, owner: owner)) } catch { return .failure(error) }
  }

  func lookup(_ frame: [UInt8]) -> UInt16? { frame.withUnsafeBytes { table.lookup($0) } }
}

/// Random filters drawn from a small vocabulary of offsets and values, so that
/// random pairs overlap, are disjoint, and share shapes often enough to test.
private func randomFilter(_ rng: inout SplitMix64) -> PacketFilter? {
  var list: [FilterAtom] = []
  let offsets: [UInt16] = [0, 1, 2, 4, 5, 12, 13, 14, 23, 38, 40]
  let payloadOffsets: [UInt16] = [0, 2, 3, 6, 36, 40]
  let usesPayload = rng.chance(25)
  if usesPayload { list.append(FilterAtom(offset: 12, size: 2, equals: 0x0800)) }
  for _ in 0..<(1 + rng.below(usesPayload ? 4 : 5)) {
    let size: UInt8 = rng.pick([1, 1, 2, 4])
    let full: UInt32 = size == 4 ? 0xffff_ffff : (1 << (8 * UInt32(size))) - 1
    let base: FilterBase = usesPayload && rng.chance(50) ? .ipPayload : .frame
    let offset = base == .frame ? rng.pick(offsets) : rng.pick(payloadOffsets)
    let mask: UInt32 =
      switch rng.below(5) {
      case 0: 0
      case 1: UInt32(truncatingIfNeeded: rng.next()) & full
      case 2: 0x0f0f_0f0f & full
      default: full
      }
    let value = UInt32(truncatingIfNeeded: rng.pick([0, 1, 0xffff_ffff, 0x0202_0202, 0x0800_0806])) & mask
    list.append(FilterAtom(base: base, offset: offset, size: size, mask: mask, value: value))
  }
  return try? PacketFilter(atoms: list)
}

/// A frame of random length and content; often an IPv4 header, sometimes a bad one.
private func randomFrame(_ rng: inout SplitMix64) -> [UInt8] {
  let length = rng.chance(30) ? rng.below(80) : rng.below(PacketFilter.maxFrameLength + 1)
  var f = (0..<length).map { _ in rng.byte() }
  if length > 13 && rng.chance(60) {
    f[12] = 0x08
    f[13] = rng.pick([0x00, 0x00, 0x06])
  }
  if length > 14 && rng.chance(70) { f[14] = rng.pick([0x45, 0x46, 0x4f, 0x44, 0x40, 0x65, 0x55, f[14]]) }
  if length > 0 && rng.chance(30) { f[0] = rng.pick([0xff, 0x02]) }
  return f
}

/// A frame meant to satisfy `filter` (it may not, when a frame atom moved the
/// IP header or an IP-payload atom overwrote a frame-pinned byte).
private func frameSatisfying(_ filter: PacketFilter, _ rng: inout SplitMix64) -> [UInt8] {
  let list = atoms(filter)
  var f = randomFrame(&rng)
  let frameNeed = list.filter { $0.base == .frame }.map { Int($0.offset) + Int($0.size) }.max() ?? 0
  let payloadNeed = list.filter { $0.base == .ipPayload }.map { Int($0.offset) + Int($0.size) }.max() ?? 0
  let ihl = rng.pick([5, 5, 6, 15])
  let minimum = max(frameNeed, payloadNeed > 0 ? 14 + 4 * ihl + payloadNeed : 0)
  while f.count < minimum { f.append(rng.byte()) }
  if payloadNeed > 0 { f[14] = 0x40 | UInt8(ihl) }
  func apply(_ atom: FilterAtom, at start: Int) {
    for i in 0..<Int(atom.size) {
      let (mask, value) = atom.byte(i)
      f[start + i] = f[start + i] & ~mask | value
    }
  }
  for atom in list where atom.base == .frame { apply(atom, at: Int(atom.offset)) }
  let start = f.count > 14 && f[14] >> 4 == 4 && f[14] & 0x0f >= 5 ? 14 + 4 * Int(f[14] & 0x0f) : nil
  if let start {
    for atom in list where atom.base == .ipPayload && start + Int(atom.offset) + Int(atom.size) <= f.count {
      apply(atom, at: start + Int(atom.offset))
    }
  }
  return f
}

final class PacketFilterTests: XCTestCase {
  // MARK: Verifier

  private let ethertypeIPv4 = Record(size: 2, offset: 12, mask: 0xffff, value: 0x0800)

  func testDecodesAValidProgramAndEncodesItBack() throws {
    let bytes = program([
      Record(size: 4, offset: 0, mask: 0xffff_ffff, value: 0x0200_0000),
      Record(size: 2, offset: 4, mask: 0xffff, value: 0x000a),
      ethertypeIPv4,
      Record(base: 1, size: 1, offset: 9, mask: 0xf0, value: 0x40),
    ])
    let f = try XCTUnwrap(try? decode(bytes).get())
    XCTAssertEqual(f.count, 4)
    XCTAssertEqual(f[3], FilterAtom(base: .ipPayload, offset: 9, size: 1, mask: 0xf0, value: 0x40))
    XCTAssertEqual(encoded(f), bytes)
    XCTAssertEqual(f.encodedCount, 8 + 4 * 16)
    // Too small a buffer is refused, not overrun.
    var small = [UInt8](repeating: 0xee, count: f.encodedCount - 1)
    XCTAssertNil(small.withUnsafeMutableBytes { f.encode(into: $0) })
    XCTAssertEqual(small, [UInt8](repeating: 0xee, count: f.encodedCount - 1))
  }

  func testRefusesHeadersThatAreShortWrongOrMiscounted() {
    let one = [Record(size: 1, offset: 0, mask: 0xff, value: 2)]
    for n in 0..<8 { XCTAssertEqual(decodeError(Array(program(one).prefix(n))), .tooShort, "\(n) bytes") }
    XCTAssertEqual(decodeError(program(one, magic: 0x3246_5044)), .badMagic)
    XCTAssertEqual(decodeError(program(one, magic: 0x4450_4631)), .badMagic)  // big-endian magic
    XCTAssertEqual(decodeError(program([])), .emptyFilter)
    XCTAssertEqual(decodeError(program(one, count: 0)), .emptyFilter)
    let thirteen = (0..<13).map { Record(size: 1, offset: UInt16($0), mask: 0xff, value: 1) }
    XCTAssertEqual(decodeError(program(thirteen)), .tooManyAtoms)
    XCTAssertEqual(decodeError(program(one, count: 0xffff_ffff)), .tooManyAtoms)
    XCTAssertEqual(decodeError(program(one, count: 0x8000_0001)), .tooManyAtoms)
    XCTAssertEqual(decodeError(program(one, count: 2)), .lengthMismatch)
    XCTAssertEqual(decodeError(program(one) + [0]), .lengthMismatch)
    XCTAssertEqual(decodeError(Array(program(one).dropLast())), .lengthMismatch)
    XCTAssertNil(decodeError(program(Array(thirteen.prefix(12)))))
  }

  func testRefusesEachMalformedAtom() {
    let good = Record(size: 1, offset: 0, mask: 0xff, value: 2)
    func refusal(_ bad: Record) -> FilterError? { decodeError(program([good, bad])) }
    XCTAssertEqual(refusal(Record(base: 2, size: 1, offset: 1, mask: 0xff, value: 1)), .badBase(atom: 1))
    XCTAssertEqual(refusal(Record(base: 0xff, size: 1, offset: 1, mask: 0xff, value: 1)), .badBase(atom: 1))
    for size: UInt8 in [0, 3, 5, 8, 255] {
      XCTAssertEqual(refusal(Record(size: size, offset: 1, mask: 0xff, value: 1)), .badSize(atom: 1), "size \(size)")
    }
    XCTAssertEqual(refusal(Record(size: 1, offset: 1514, mask: 0xff, value: 1)), .offsetOutOfRange(atom: 1))
    XCTAssertEqual(refusal(Record(size: 4, offset: 1511, mask: 0xff, value: 1)), .offsetOutOfRange(atom: 1))
    XCTAssertEqual(refusal(Record(size: 2, offset: 0xffff, mask: 0xff, value: 1)), .offsetOutOfRange(atom: 1))
    XCTAssertNil(refusal(Record(size: 4, offset: 1510, mask: 0xff, value: 1)))  // ends exactly at 1514
    XCTAssertNil(refusal(Record(size: 1, offset: 1513, mask: 0xff, value: 1)))
    XCTAssertEqual(refusal(Record(size: 1, offset: 1, mask: 0x1ff, value: 1)), .maskWiderThanSize(atom: 1))
    XCTAssertEqual(refusal(Record(size: 2, offset: 1, mask: 0x1_0000, value: 0)), .maskWiderThanSize(atom: 1))
    XCTAssertEqual(refusal(Record(size: 1, offset: 1, mask: 0x0f, value: 0x10)), .valueOutsideMask(atom: 1))
    XCTAssertEqual(refusal(Record(size: 4, offset: 1, mask: 0, value: 0x8000_0000)), .valueOutsideMask(atom: 1))
    XCTAssertEqual(refusal(Record(size: 1, offset: 1, mask: 0xff, value: 1, reserved: 1)), .reservedNotZero(atom: 1))
    XCTAssertEqual(
      refusal(Record(size: 1, offset: 1, mask: 0xff, value: 1, reserved: 0x8000_0000)), .reservedNotZero(atom: 1))
    XCTAssertEqual(
      decodeError(program([Record(base: 7, size: 1, offset: 0, mask: 0xff, value: 1), good])), .badBase(atom: 0))
  }

  func testIPPayloadAtomsNeedTheEthertypePinnedToIPv4() {
    let port = Record(base: 1, size: 2, offset: 2, mask: 0xffff, value: 68)
    XCTAssertEqual(decodeError(program([port])), .ipPayloadWithoutIPv4)
    XCTAssertEqual(
      decodeError(program([Record(size: 2, offset: 12, mask: 0xffff, value: 0x86dd), port])), .ipPayloadWithoutIPv4)
    XCTAssertEqual(
      decodeError(program([Record(size: 2, offset: 12, mask: 0xff00, value: 0x0800), port])), .ipPayloadWithoutIPv4)
    XCTAssertEqual(
      decodeError(program([Record(size: 2, offset: 12, mask: 0xfff7, value: 0x0800), port])), .ipPayloadWithoutIPv4)
    // Right pin, wrong base: the payload's bytes 12..13 are not the ethertype.
    XCTAssertEqual(
      decodeError(program([Record(base: 1, size: 2, offset: 12, mask: 0xffff, value: 0x0800), port])),
      .ipPayloadWithoutIPv4)
    XCTAssertNil(decodeError(program([ethertypeIPv4, port])))
    XCTAssertNil(decodeError(program([port, ethertypeIPv4])))
    // Reasoned per byte: a split pin, or one inside a wider atom, counts.
    XCTAssertNil(
      decodeError(
        program([
          Record(size: 1, offset: 12, mask: 0xff, value: 0x08), Record(size: 1, offset: 13, mask: 0xff, value: 0), port,
        ])))
    XCTAssertNil(decodeError(program([Record(size: 4, offset: 12, mask: 0xffff_0000, value: 0x0800_0000), port])))
  }

  func testRefusesContradictoryAtoms() {
    XCTAssertEqual(
      decodeError(
        program([
          Record(size: 2, offset: 12, mask: 0xffff, value: 0x0800),
          Record(size: 2, offset: 12, mask: 0xffff, value: 0x0806),
        ])), .contradictory(0, 1))
    // A 1-byte atom inside a 4-byte one, big-endian: byte 3 of offset 0 is the low byte.
    XCTAssertEqual(
      decodeError(
        program([
          Record(size: 1, offset: 9, mask: 0xff, value: 1), Record(size: 4, offset: 0, mask: 0xff, value: 0x0a),
          Record(size: 1, offset: 3, mask: 0x01, value: 0x01),
        ])), .contradictory(1, 2))
    XCTAssertNil(
      decodeError(
        program([
          Record(size: 4, offset: 0, mask: 0xff, value: 0x0a), Record(size: 1, offset: 3, mask: 0xff, value: 0x0a),
        ])))
    // Straddling atoms: offset 1 size 2 covers bytes 1..2, offset 2 size 4 covers 2..5.
    XCTAssertEqual(
      decodeError(
        program([
          Record(size: 2, offset: 1, mask: 0x00ff, value: 0x0055),
          Record(size: 4, offset: 2, mask: 0xff00_0000, value: 0x5600_0000),
        ])), .contradictory(0, 1))
    // Different bits of one byte, or the same bits with the same value, are fine.
    XCTAssertNil(
      decodeError(
        program([
          Record(size: 1, offset: 0, mask: 0xf0, value: 0x10), Record(size: 1, offset: 0, mask: 0x0f, value: 0x02),
        ])))
    XCTAssertNil(
      decodeError(
        program([
          Record(size: 1, offset: 0, mask: 0xff, value: 0x12), Record(size: 1, offset: 0, mask: 0x0f, value: 0x02),
        ])))
    // Different bases are not the same bytes: not a contradiction.
    XCTAssertNil(
      decodeError(
        program([
          ethertypeIPv4, Record(size: 1, offset: 40, mask: 0xff, value: 1),
          Record(base: 1, size: 1, offset: 6, mask: 0xff, value: 2),
        ])))
  }

  func testAtomInitializerChecksLikeDecode() {
    func refusal(_ list: [FilterAtom]) -> FilterError? {
      do throws(FilterError) {
        _ = try PacketFilter(atoms: list)
        return nil
      } catch { return error }
    }
    XCTAssertEqual(refusal([]), .emptyFilter)
    XCTAssertEqual(refusal(Array(repeating: FilterAtom(offset: 0, size: 1, equals: 2), count: 13)), .tooManyAtoms)
    XCTAssertEqual(refusal([FilterAtom(offset: 0, size: 3, mask: 0xff, value: 0)]), .badSize(atom: 0))
    XCTAssertEqual(refusal([FilterAtom(offset: 1513, size: 2, equals: 0)]), .offsetOutOfRange(atom: 0))
    XCTAssertEqual(refusal([FilterAtom(offset: 0, size: 1, mask: 0x100, value: 0)]), .maskWiderThanSize(atom: 0))
    XCTAssertEqual(refusal([FilterAtom(offset: 0, size: 1, mask: 0x0f, value: 0xf0)]), .valueOutsideMask(atom: 0))
    XCTAssertEqual(refusal([FilterAtom(base: .ipPayload, offset: 0, size: 1, equals: 1)]), .ipPayloadWithoutIPv4)
    XCTAssertEqual(
      refusal([FilterAtom(offset: 0, size: 1, equals: 1), FilterAtom(offset: 0, size: 1, equals: 2)]),
      .contradictory(0, 1))
    // The fixed filters are exactly what the verifier accepts.
    for f in [PacketFilter.unicast(mac: macA), .arpRequests(for: ipA), .dhcpReplies(to: macA)] {
      XCTAssertEqual(try? decode(encoded(f)).get(), f)
      XCTAssertEqual(try? PacketFilter(atoms: atoms(f)), f)
    }
  }

  /// Random byte strings and mutations of valid programs: the verifier never
  /// traps, what it accepts encodes back to the same bytes, and the interpreter
  /// agrees with the reference matcher on hostile frames.
  func testVerifierAndInterpreterOnRandomPrograms() {
    var rng = SplitMix64(state: 0xF11_7E12)
    let valid = [PacketFilter.unicast(mac: macA), .arpRequests(for: ipB), .dhcpReplies(to: macC)].map(encoded)
    var accepted = 0
    var refusals: [String: Int] = [:]
    var matched = 0
    var runs = 0
    for round in 0..<6000 {
      var bytes: [UInt8]
      switch round % 3 {
      case 0:  // random bytes, often behind a plausible header so records get examined
        let n = rng.below(1 + rng.below(14))
        bytes = (0..<(8 + 16 * n + (rng.chance(80) ? 0 : rng.below(20)))).map { _ in rng.byte() }
        if rng.chance(85) {
          bytes.replaceSubrange(0..<4, with: le32(PacketFilter.magic))
          bytes.replaceSubrange(4..<8, with: le32(rng.chance(90) ? UInt32(n) : UInt32(truncatingIfNeeded: rng.next())))
          for i in 0..<n where rng.chance(80) {
            let at = 8 + 16 * i
            bytes[at] = rng.pick([0, 0, 1, 2])
            bytes[at + 1] = rng.pick([1, 2, 4, 3])
            bytes[at + 3] = rng.pick([0, 0, 5, 6])
            if rng.chance(50) { bytes.replaceSubrange((at + 4)..<(at + 12), with: [UInt8](repeating: 0, count: 8)) }
            if rng.chance(90) { bytes.replaceSubrange((at + 12)..<(at + 16), with: [0, 0, 0, 0]) }
          }
        }
      case 1:  // a valid program with a few bytes or bits changed
        bytes = rng.pick(valid)
        for _ in 0..<(1 + rng.below(3)) {
          let i = rng.below(bytes.count)
          if rng.chance(50) { bytes[i] ^= 1 << UInt8(rng.below(8)) } else { bytes[i] = rng.byte() }
        }
        if rng.chance(10) { bytes.removeLast(rng.below(bytes.count)) }
        if rng.chance(5) { bytes += [rng.byte()] }
      default:  // a random filter from the vocabulary, maybe mutated
        guard let f = randomFilter(&rng) else { continue }
        bytes = encoded(f)
        if rng.chance(30) { bytes[8 + rng.below(bytes.count - 8)] ^= 1 << UInt8(rng.below(8)) }
      }
      switch decode(bytes) {
      case .failure(let error): refusals["\(error)".prefix { $0 != "(" }.description, default: 0] += 1
      case .success(let f):
        accepted += 1
        XCTAssertEqual(encoded(f), bytes, "round \(round)")
        XCTAssertLessThanOrEqual(f.count, PacketFilter.maxAtoms)
        let list = atoms(f)
        for _ in 0..<6 {
          let frame = rng.chance(50) ? frameSatisfying(f, &rng) : randomFrame(&rng)
          let got = matches(f, frame)
          XCTAssertEqual(got, referenceMatches(list, frame), "round \(round), frame of \(frame.count)")
          runs += 1
          if got { matched += 1 }
        }
      }
    }
    // The test means something only if each path was taken often.
    XCTAssertGreaterThan(accepted, 1000)
    XCTAssertGreaterThan(matched, 1000)
    XCTAssertGreaterThan(runs - matched, 1000)
    for reason in [
      "tooShort", "badMagic", "emptyFilter", "tooManyAtoms", "lengthMismatch", "badBase", "badSize", "offsetOutOfRange",
      "maskWiderThanSize", "valueOutsideMask", "reservedNotZero", "ipPayloadWithoutIPv4", "contradictory",
    ] {
      XCTAssertGreaterThan(refusals[reason, default: 0], 0, reason)
    }
  }

  // MARK: Interpreter

  func testInterpreterOnTruncatedAndHostileFrames() {
    let f = PacketFilter.dhcpReplies(to: macA)
    let good = dhcpReply(to: macA)
    XCTAssertTrue(matches(f, good))
    XCTAssertTrue(matches(f, dhcpReply(to: macA, ihl: 6)))  // options move the payload
    XCTAssertTrue(matches(f, dhcpReply(to: macA, ihl: 15)))
    XCTAssertFalse(matches(f, dhcpReply(to: macB)))
    // Every truncation: the chaddr is the last thing tested, at 34 + 36..41.
    for n in 0...good.count { XCTAssertEqual(matches(f, Array(good.prefix(n))), n >= 14 + 20 + 42, "\(n) bytes") }
    var frame = good
    for bad: UInt8 in [0x44, 0x40, 0x65, 0x55, 0x05, 0x00] {
      frame[14] = bad
      XCTAssertFalse(matches(f, frame), "byte 14 = \(bad)")
    }
    // An IHL of 15 on a frame shorter than 74 bytes: the header runs past the end.
    frame = Array(good.prefix(70))
    frame[14] = 0x4f
    XCTAssertFalse(matches(f, frame))
    XCTAssertFalse(matches(f, []))
    XCTAssertFalse(matches(PacketFilter.unicast(mac: macA), macBytes(macA).dropLast()))
    XCTAssertTrue(matches(PacketFilter.unicast(mac: macA), macBytes(macA)))
    // A frame longer than the maximum is read only where atoms say.
    XCTAssertTrue(matches(PacketFilter.unicast(mac: macA), ethernet(to: macA, type: 0x0800, length: 9000)))
    // A mask-0 atom still needs its bytes present.
    let length = filter([FilterAtom(offset: 99, size: 1, mask: 0, value: 0)])
    XCTAssertFalse(matches(length, [UInt8](repeating: 0, count: 99)))
    XCTAssertTrue(matches(length, [UInt8](repeating: 7, count: 100)))
  }

  func testInterpreterLoadsBigEndianUnderTheMask() {
    let f = filter([FilterAtom(offset: 2, size: 4, mask: 0xff00_f0ff, value: 0x1200_3056)])
    XCTAssertTrue(matches(f, [0, 0, 0x12, 0xab, 0x3c, 0x56]))
    XCTAssertFalse(matches(f, [0, 0, 0x56, 0xab, 0x3c, 0x12]))
    XCTAssertFalse(matches(f, [0, 0, 0x12, 0xab, 0x4c, 0x56]))
  }

  // MARK: Ownership

  func testOwnershipProofsAccepted() {
    XCTAssertTrue(PacketFilter.unicast(mac: macA).provesOwnership(mac: macA, ipv4: ipA))
    XCTAssertTrue(PacketFilter.arpRequests(for: ipA).provesOwnership(mac: macA, ipv4: ipA))
    XCTAssertTrue(PacketFilter.dhcpReplies(to: macA).provesOwnership(mac: macA, ipv4: ipA))
    // Split into 1-byte atoms, in any order; or 2 + 4.
    let bytes = macBytes(macA)
    let split = filter((0..<6).reversed().map { FilterAtom(offset: UInt16($0), size: 1, equals: UInt32(bytes[$0])) })
    XCTAssertTrue(split.provesOwnership(mac: macA, ipv4: ipA))
    XCTAssertFalse(split.provesOwnership(mac: macB, ipv4: ipB))
    let twoFour = filter([
      FilterAtom(offset: 0, size: 2, equals: 0x0200), FilterAtom(offset: 2, size: 4, equals: 0x0000_000a),
    ])
    XCTAssertTrue(twoFour.provesOwnership(mac: macA, ipv4: ipA))
    // A MAC assembled from partial masks of overlapping atoms still pins every bit.
    let halves = filter([
      FilterAtom(offset: 0, size: 4, mask: 0xf0f0_f0f0, value: 0x0000_0000),
      FilterAtom(offset: 0, size: 4, mask: 0x0f0f_0f0f, value: 0x0200_0000),
      FilterAtom(offset: 4, size: 2, equals: 0x000a),
    ])
    XCTAssertTrue(halves.provesOwnership(mac: macA, ipv4: ipA))
    // Narrower than needed is fine.
    let narrower = filter(atoms(.unicast(mac: macA)) + [FilterAtom(offset: 12, size: 2, equals: 0x0800)])
    XCTAssertTrue(narrower.provesOwnership(mac: macA, ipv4: ipA))
    // The ARP target split into bytes.
    let arpSplit = filter(
      atoms(.unicast(mac: broadcastMAC)) + [
        FilterAtom(offset: 12, size: 1, equals: 8), FilterAtom(offset: 13, size: 1, equals: 6),
      ]
        + ipBytes(ipA).enumerated().map {
          FilterAtom(offset: UInt16(38 + $0.offset), size: 1, equals: UInt32($0.element))
        })
    XCTAssertTrue(arpSplit.provesOwnership(mac: macA, ipv4: ipA))
  }

  func testOwnershipProofsRefused() {
    // Someone else's MAC, IP or chaddr.
    XCTAssertFalse(PacketFilter.unicast(mac: macB).provesOwnership(mac: macA, ipv4: ipA))
    XCTAssertFalse(PacketFilter.arpRequests(for: ipB).provesOwnership(mac: macA, ipv4: ipA))
    XCTAssertFalse(PacketFilter.dhcpReplies(to: macB).provesOwnership(mac: macA, ipv4: ipA))
    // Broadcast frames without the ARP target: every env's ARP requests.
    let broadcastARP = filter(atoms(.unicast(mac: broadcastMAC)) + [FilterAtom(offset: 12, size: 2, equals: 0x0806)])
    XCTAssertFalse(broadcastARP.provesOwnership(mac: macA, ipv4: ipA))
    XCTAssertFalse(PacketFilter.unicast(mac: broadcastMAC).provesOwnership(mac: macA, ipv4: ipA))
    // The target under a partial mask (a /24, not the address).
    let arpSubnet = filter(
      atoms(broadcastARP) + [FilterAtom(offset: 38, size: 4, mask: 0xffff_ff00, value: ipA & 0xffff_ff00)])
    XCTAssertFalse(arpSubnet.provesOwnership(mac: macA, ipv4: ipA))
    // The ARP target without the broadcast destination, or without the ethertype.
    XCTAssertFalse(filter(Array(atoms(.arpRequests(for: ipA)).dropFirst())).provesOwnership(mac: macA, ipv4: ipA))
    let arpNoType = atoms(.arpRequests(for: ipA)).filter { $0.offset != 12 }
    XCTAssertFalse(filter(arpNoType).provesOwnership(mac: macA, ipv4: ipA))
    // The target pinned through the wrong base.
    XCTAssertFalse(
      filter(
        atoms(.unicast(mac: broadcastMAC)) + [
          FilterAtom(offset: 12, size: 2, equals: 0x0800),
          FilterAtom(base: .ipPayload, offset: 4, size: 4, equals: ipA),
        ]
      )
      .provesOwnership(mac: macA, ipv4: ipA))
    // IPv4-any, and a MAC with its last bits under a partial mask.
    XCTAssertFalse(filter([FilterAtom(offset: 12, size: 2, equals: 0x0800)]).provesOwnership(mac: macA, ipv4: ipA))
    let sloppy = filter([
      FilterAtom(offset: 0, size: 4, equals: 0x0200_0000), FilterAtom(offset: 4, size: 2, mask: 0xfff0, value: 0),
    ])
    XCTAssertFalse(sloppy.provesOwnership(mac: macA, ipv4: ipA))
    XCTAssertFalse(filter([FilterAtom(offset: 0, size: 4, mask: 0, value: 0)]).provesOwnership(mac: macA, ipv4: ipA))
    // DHCP without the port, to the server port, over TCP, or without the chaddr.
    let dhcp = atoms(.dhcpReplies(to: macA))
    XCTAssertFalse(
      filter(dhcp.filter { !($0.base == .ipPayload && $0.offset == 2) }).provesOwnership(mac: macA, ipv4: ipA))
    XCTAssertFalse(
      filter(
        dhcp.map {
          $0.base == .ipPayload && $0.offset == 2 ? FilterAtom(base: .ipPayload, offset: 2, size: 2, equals: 67) : $0
        }
      )
      .provesOwnership(mac: macA, ipv4: ipA))
    XCTAssertFalse(
      filter(dhcp.map { $0.offset == 23 ? FilterAtom(offset: 23, size: 1, equals: 6) : $0 }).provesOwnership(
        mac: macA, ipv4: ipA))
    XCTAssertFalse(filter(dhcp.filter { $0.offset != 40 }).provesOwnership(mac: macA, ipv4: ipA))
    // The chaddr at frame offsets (where it would be with IHL 5) is not the chaddr.
    XCTAssertFalse(
      filter(
        dhcp.map {
          $0.base == .ipPayload && $0.offset >= 36
            ? FilterAtom(offset: $0.offset + 34, size: $0.size, equals: $0.value) : $0
        }
      )
      .provesOwnership(mac: macA, ipv4: ipA))
    // A group or oversized MAC in the configuration proves nothing.
    XCTAssertFalse(PacketFilter.unicast(mac: broadcastMAC).provesOwnership(mac: broadcastMAC, ipv4: ipA))
    XCTAssertFalse(PacketFilter.unicast(mac: 0x01_00_5e_00_00_01).provesOwnership(mac: 0x01_00_5e_00_00_01, ipv4: ipA))
    XCTAssertFalse(PacketFilter.unicast(mac: macA).provesOwnership(mac: macA | 1 << 48, ipv4: ipA))
  }

  // MARK: Conflict check

  private func mayOverlap(_ a: PacketFilter, _ b: PacketFilter) -> Bool {
    let result = PacketFilter.mayOverlap(a, b)
    XCTAssertEqual(result, PacketFilter.mayOverlap(b, a), "not symmetric")
    return result
  }

  func testConflictCheckOnTheUsualFilters() {
    let usual =
      [macA, macB, macC].flatMap { mac in [PacketFilter.unicast(mac: mac), .dhcpReplies(to: mac)] }
      + [ipA, ipB, ipC].map { PacketFilter.arpRequests(for: $0) }
    for (i, a) in usual.enumerated() {
      for (j, b) in usual.enumerated() { XCTAssertEqual(mayOverlap(a, b), i == j, "\(i) vs \(j)") }
    }
    // A unicast DHCP reply to A's MAC is A's twice over: those two overlap.
    let unicastDHCP = filter(atoms(.unicast(mac: macA)) + [FilterAtom(offset: 12, size: 2, equals: 0x0800)])
    XCTAssertTrue(mayOverlap(unicastDHCP, .unicast(mac: macA)))
    XCTAssertTrue(matches(unicastDHCP, dhcpReply(to: macB, destination: macA)))
  }

  func testCatchAllsOverlapEverything() {
    let ipv4Any = filter([FilterAtom(offset: 12, size: 2, equals: 0x0800)])
    let nothingTested = filter([FilterAtom(offset: 0, size: 4, mask: 0, value: 0)])
    for f in [PacketFilter.unicast(mac: macA), .dhcpReplies(to: macB), ipv4Any, nothingTested] {
      XCTAssertTrue(mayOverlap(nothingTested, f))
    }
    XCTAssertTrue(mayOverlap(ipv4Any, .unicast(mac: macA)))
    XCTAssertTrue(mayOverlap(ipv4Any, .dhcpReplies(to: macA)))
    XCTAssertFalse(mayOverlap(ipv4Any, .arpRequests(for: ipA)))
  }

  func testConflictCheckIsConservativeAcrossBasesAndMasks() {
    // Frame byte 40 and payload byte 6 are the same byte only when IHL is 5.
    let frameByte = filter([FilterAtom(offset: 40, size: 1, equals: 1)])
    let payloadByte = filter([
      FilterAtom(offset: 12, size: 2, equals: 0x0800), FilterAtom(base: .ipPayload, offset: 6, size: 1, equals: 2),
    ])
    XCTAssertTrue(mayOverlap(frameByte, payloadByte))
    var both = dhcpReply(to: macA, ihl: 6)
    both[40] = 1
    both[44] = 2
    XCTAssertTrue(matches(frameByte, both) && matches(payloadByte, both))
    // Different bits of one byte do not make filters disjoint; a shared bit does.
    let high = filter([FilterAtom(offset: 0, size: 1, mask: 0xf0, value: 0x10)])
    let low = filter([FilterAtom(offset: 0, size: 1, mask: 0x0f, value: 0x02)])
    XCTAssertTrue(mayOverlap(high, low))
    XCTAssertTrue(matches(high, [0x12]) && matches(low, [0x12]))
    XCTAssertFalse(mayOverlap(high, filter([FilterAtom(offset: 0, size: 1, mask: 0x30, value: 0x20)])))
    // Atoms of different sizes over the same bytes are compared byte by byte.
    XCTAssertFalse(mayOverlap(.unicast(mac: macA), filter([FilterAtom(offset: 5, size: 1, equals: 0x0b)])))
    XCTAssertTrue(mayOverlap(.unicast(mac: macA), filter([FilterAtom(offset: 2, size: 4, equals: 0x0000_000a)])))
  }

  /// When `mayOverlap` says false, no frame matches both filters: checked on
  /// random frames and on frames built to satisfy one filter or the other.
  func testDisjointFiltersNeverMatchTheSameFrame() {
    var rng = SplitMix64(state: 0xD15_7017)
    var disjoint = 0
    var satisfiedOne = 0
    var overlapsSeen = 0
    for _ in 0..<4000 {
      guard let a = randomFilter(&rng), let b = randomFilter(&rng) else { continue }
      let overlap = PacketFilter.mayOverlap(a, b)
      if overlap {
        overlapsSeen += 1
        continue
      }
      disjoint += 1
      for k in 0..<12 {
        let frame = k % 3 == 2 ? randomFrame(&rng) : frameSatisfying(k % 3 == 0 ? a : b, &rng)
        let ma = matches(a, frame)
        let mb = matches(b, frame)
        if ma || mb { satisfiedOne += 1 }
        XCTAssertFalse(ma && mb, "disjoint filters \(atoms(a)) and \(atoms(b)) both match a frame")
      }
    }
    XCTAssertGreaterThan(disjoint, 500)
    XCTAssertGreaterThan(overlapsSeen, 500)
    XCTAssertGreaterThan(satisfiedOne, 3000)
  }

  // MARK: Merged lookup table

  func testTableFindsEachEnvsFrames() throws {
    let storage = TableStorage(capacity: 16)
    for (owner, mac, ip) in [(UInt16(1), macA, ipA), (2, macB, ipB), (3, macC, ipC)] {
      for f in [PacketFilter.unicast(mac: mac), .arpRequests(for: ip), .dhcpReplies(to: mac)] {
        XCTAssertTrue(f.provesOwnership(mac: mac, ipv4: ip))
        _ = try storage.insert(f, owner: owner).get()
      }
    }
    XCTAssertEqual(storage.table.count, 9)
    XCTAssertEqual(storage.table.shapeCount, 3)
    XCTAssertEqual(storage.lookup(ethernet(to: macA, type: 0x0800)), 1)
    XCTAssertEqual(storage.lookup(ethernet(to: macB, type: 0x86dd)), 2)
    XCTAssertEqual(storage.lookup(arpRequest(for: ipC)), 3)
    XCTAssertEqual(storage.lookup(arpRequest(for: ipA)), 1)
    XCTAssertEqual(storage.lookup(dhcpReply(to: macB)), 2)
    XCTAssertEqual(storage.lookup(dhcpReply(to: macC, ihl: 7)), 3)
    XCTAssertEqual(storage.lookup(dhcpReply(to: macC, destination: macA)), 1)  // unicast wins by destination
    // Nobody's frames.
    XCTAssertNil(storage.lookup(ethernet(to: 0x02_00_00_00_00_0d, type: 0x0800)))
    XCTAssertNil(storage.lookup(arpRequest(for: 0x0a00_0202)))
    XCTAssertNil(storage.lookup(dhcpReply(to: 0x02_00_00_00_00_0d)))
    XCTAssertNil(storage.lookup(ethernet(to: broadcastMAC, type: 0x0800)))
    // Truncated or mangled ones.
    XCTAssertNil(storage.lookup([]))
    XCTAssertNil(storage.lookup(Array(ethernet(to: macA, type: 0x0800).prefix(5))))
    XCTAssertEqual(storage.lookup(Array(ethernet(to: macA, type: 0x0800).prefix(6))), 1)
    XCTAssertNil(storage.lookup(Array(arpRequest(for: ipC).prefix(41))))
    var badIHL = dhcpReply(to: macB)
    badIHL[14] = 0x44
    XCTAssertNil(storage.lookup(badIHL))
    XCTAssertNil(storage.lookup(Array(dhcpReply(to: macB).prefix(75))))
  }

  func testTableRefusesConflictsButNotTheSameOwnersOverlap() throws {
    let storage = TableStorage(capacity: 8)
    let a = try storage.insert(.unicast(mac: macA), owner: 1).get()
    XCTAssertEqual(storage.insert(.unicast(mac: macA), owner: 2), .failure(.conflict(owner: 1)))
    let ipv4Any = filter([FilterAtom(offset: 12, size: 2, equals: 0x0800)])
    XCTAssertEqual(storage.insert(ipv4Any, owner: 2), .failure(.conflict(owner: 1)))
    XCTAssertEqual(storage.table.count, 1)
    // The same env may bind overlapping filters, even the same one twice.
    let again = try storage.insert(.unicast(mac: macA), owner: 1).get()
    let narrower = try storage.insert(filter(atoms(.unicast(mac: macA)) + atoms(ipv4Any)), owner: 1).get()
    XCTAssertEqual(storage.table.count, 3)
    XCTAssertEqual(storage.table.shapeCount, 2)
    XCTAssertEqual(storage.lookup(ethernet(to: macA, type: 0x0800)), 1)
    XCTAssertTrue(storage.table.remove(a))
    XCTAssertTrue(storage.table.remove(narrower))
    XCTAssertEqual(storage.lookup(ethernet(to: macA, type: 0x0800)), 1)
    XCTAssertTrue(storage.table.remove(again))
    XCTAssertNil(storage.lookup(ethernet(to: macA, type: 0x0800)))
    XCTAssertEqual(storage.table.shapeCount, 0)
    // Once owner 1 is gone, owner 2 may take the address.
    _ = try storage.insert(.unicast(mac: macA), owner: 2).get()
    XCTAssertEqual(storage.lookup(ethernet(to: macA, type: 0x0800)), 2)
  }

  func testTableRefusesWhenFullAndWhenShapesRunOut() throws {
    let storage = TableStorage(capacity: 4, shapes: 2)
    _ = try storage.insert(.unicast(mac: macA), owner: 1).get()
    _ = try storage.insert(.unicast(mac: macB), owner: 2).get()
    let arp = try storage.insert(.arpRequests(for: ipA), owner: 1).get()
    XCTAssertEqual(storage.insert(.dhcpReplies(to: macA), owner: 1), .failure(.tooManyShapes))
    _ = try storage.insert(.unicast(mac: macC), owner: 3).get()
    XCTAssertEqual(storage.insert(.arpRequests(for: ipB), owner: 2), .failure(.tableFull))
    // A conflict is reported even when full: the more useful answer.
    XCTAssertEqual(storage.insert(.unicast(mac: macC), owner: 2), .failure(.conflict(owner: 3)))
    XCTAssertEqual(storage.table.count, 4)
    // Removing the only ARP filter frees both a slot and its shape.
    XCTAssertTrue(storage.table.remove(arp))
    XCTAssertEqual(storage.table.shapeCount, 1)
    _ = try storage.insert(.dhcpReplies(to: macA), owner: 1).get()
    XCTAssertEqual(storage.lookup(dhcpReply(to: macA)), 1)
    XCTAssertNil(storage.lookup(arpRequest(for: ipA)))
  }

  func testRemoveAllAndStaleIDs() throws {
    let storage = TableStorage(capacity: 16)
    var ids: [UInt16: [FilterID]] = [:]
    for (owner, mac, ip) in [(UInt16(1), macA, ipA), (2, macB, ipB), (3, macC, ipC)] {
      for f in [PacketFilter.unicast(mac: mac), .arpRequests(for: ip), .dhcpReplies(to: mac)] {
        ids[owner, default: []].append(try storage.insert(f, owner: owner).get())
      }
    }
    XCTAssertEqual(storage.table.removeAll(owner: 2), 3)
    XCTAssertEqual(storage.table.removeAll(owner: 2), 0)
    XCTAssertEqual(storage.table.removeAll(owner: 9), 0)
    XCTAssertEqual(storage.table.count, 6)
    XCTAssertNil(storage.lookup(ethernet(to: macB, type: 0x0800)))
    XCTAssertNil(storage.lookup(arpRequest(for: ipB)))
    XCTAssertNil(storage.lookup(dhcpReply(to: macB)))
    XCTAssertEqual(storage.lookup(arpRequest(for: ipA)), 1)
    XCTAssertEqual(storage.lookup(dhcpReply(to: macC)), 3)
    // Ids of removed filters name nothing, even after their slot is reused.
    let stale = ids[2]![0]
    XCTAssertNil(storage.table.owner(of: stale))
    XCTAssertFalse(storage.table.remove(stale))
    let reused = try storage.insert(.unicast(mac: macB), owner: 4).get()
    XCTAssertEqual(reused.raw & 0xffff, stale.raw & 0xffff)
    XCTAssertNotEqual(reused, stale)
    XCTAssertFalse(storage.table.remove(stale))
    XCTAssertEqual(storage.table.owner(of: reused), 4)
    XCTAssertEqual(storage.table.filter(reused), .unicast(mac: macB))
    // Made-up ids.
    for raw: UInt32 in [0xffff, 0xffff_ffff, 16, 0x0001_0000] {
      XCTAssertNil(storage.table.owner(of: FilterID(raw: raw)))
      XCTAssertFalse(storage.table.remove(FilterID(raw: raw)))
    }
    XCTAssertEqual(storage.table.count, 7)
    XCTAssertEqual(storage.table.owner(of: ids[1]![2]), 1)
  }

  func testSplitFiltersShareTheirShape() throws {
    let storage = TableStorage(capacity: 8, shapes: 1)
    _ = try storage.insert(.unicast(mac: macA), owner: 1).get()
    let bytes = macBytes(macB)
    let split = filter((0..<6).map { FilterAtom(offset: UInt16($0), size: 1, equals: UInt32(bytes[$0])) })
    _ = try storage.insert(split, owner: 2).get()
    XCTAssertEqual(storage.table.shapeCount, 1)
    XCTAssertEqual(storage.lookup(ethernet(to: macB, type: 0x0800)), 2)
    XCTAssertEqual(storage.lookup(ethernet(to: macA, type: 0x0800)), 1)
  }

  /// The cost model: with 60 envs bound, a lookup reads a handful of buckets,
  /// not a number that grows with the envs.
  func testLookupCostDoesNotGrowWithEnvs() throws {
    let envs = 60
    let storage = TableStorage(capacity: 3 * envs, shapes: 4)
    func mac(_ e: Int) -> UInt64 { 0x02_00_00_00_00_00 | UInt64(e) << 8 | 0x11 }
    func ip(_ e: Int) -> UInt32 { 0x0a00_0264 &+ UInt32(e) }
    for e in 1...envs {
      for f in [PacketFilter.unicast(mac: mac(e)), .arpRequests(for: ip(e)), .dhcpReplies(to: mac(e))] {
        _ = try storage.insert(f, owner: UInt16(e)).get()
      }
    }
    XCTAssertEqual(storage.table.shapeCount, 3)
    var total = 0
    var worst = 0
    var lookups = 0
    for e in 1...envs {
      for frame in [ethernet(to: mac(e), type: 0x0800), arpRequest(for: ip(e)), dhcpReply(to: mac(e))] {
        var probes = 0
        let owner = frame.withUnsafeBytes { storage.table.lookup($0, probes: &probes) }
        XCTAssertEqual(owner, UInt16(e))
        total += probes
        worst = max(worst, probes)
        lookups += 1
      }
    }
    // At most 3 shapes are hashed per lookup and each probe run is short
    // (linear probing at load 0.35): about 2 buckets read on average, against
    // 180 filters a scan would run.
    XCTAssertLessThanOrEqual(Double(total) / Double(lookups), 3.0)
    XCTAssertLessThanOrEqual(worst, 12)
  }

  /// Random filter sets, random binds and unbinds, random frames: `lookup`
  /// agrees with a linear scan, and `insert` refuses exactly the conflicts a
  /// scan with `mayOverlap` finds.
  func testTableAgreesWithALinearScan() {
    var rng = SplitMix64(state: 0x7AB1E)
    var lookups = 0
    var found = 0
    var conflicts = 0
    for round in 0..<80 {
      let capacity = 1 + rng.below(40)
      let storage = TableStorage(capacity: capacity, shapes: 1 + rng.below(10), seed: rng.next())
      var model: [(id: FilterID, filter: PacketFilter, owner: UInt16)] = []
      for _ in 0..<(capacity * 3) {
        if !model.isEmpty && rng.chance(25) {
          let victim = model.remove(at: rng.below(model.count))
          XCTAssertTrue(storage.table.remove(victim.id))
          continue
        }
        if !model.isEmpty && rng.chance(5) {
          let owner = model[rng.below(model.count)].owner
          let n = model.filter { $0.owner == owner }.count
          XCTAssertEqual(storage.table.removeAll(owner: owner), n)
          model.removeAll { $0.owner == owner }
          continue
        }
        let f: PacketFilter
        switch rng.below(4) {
        case 0: f = .unicast(mac: 0x02_00_00_00_00_00 | UInt64(rng.below(8)))
        case 1: f = .arpRequests(for: 0x0a00_0200 | UInt32(rng.below(8)))
        case 2: f = .dhcpReplies(to: 0x02_00_00_00_00_00 | UInt64(rng.below(8)))
        default:
          guard let r = randomFilter(&rng) else { continue }
          f = r
        }
        let owner = UInt16(1 + rng.below(4))
        let clash = model.first { $0.owner != owner && PacketFilter.mayOverlap($0.filter, f) }
        switch storage.insert(f, owner: owner) {
        case .success(let id):
          XCTAssertNil(clash, "round \(round): accepted a conflicting filter")
          model.append((id, f, owner))
        case .failure(.conflict(let other)):
          conflicts += 1
          XCTAssertNotNil(clash, "round \(round): refused a filter without a conflict")
          XCTAssertTrue(
            model.contains { $0.owner == other && $0.owner != owner && PacketFilter.mayOverlap($0.filter, f) })
        case .failure(.tableFull):
          XCTAssertNil(clash)
          XCTAssertEqual(model.count, capacity)
        case .failure(.tooManyShapes):
          XCTAssertNil(clash)
        case .failure(let error):
          XCTFail("unexpected \(error)")
        }
        XCTAssertEqual(storage.table.count, model.count)
        for _ in 0..<4 {
          let frame: [UInt8]
          if !model.isEmpty && rng.chance(60) {
            frame = frameSatisfying(model[rng.below(model.count)].filter, &rng)
          } else {
            frame = rng.pick([
              randomFrame(&rng), ethernet(to: 0x02_00_00_00_00_00 | UInt64(rng.below(8)), type: 0x0800),
              arpRequest(for: 0x0a00_0200 | UInt32(rng.below(8))),
              dhcpReply(to: 0x02_00_00_00_00_00 | UInt64(rng.below(8)), ihl: 5 + rng.below(3)),
            ])
          }
          let expected = model.first { matches($0.filter, frame) }?.owner
          XCTAssertEqual(storage.lookup(frame), expected, "round \(round)")
          lookups += 1
          if expected != nil { found += 1 }
        }
      }
    }
    XCTAssertGreaterThan(found, lookups / 4)
    XCTAssertGreaterThan(conflicts, 100)
  }
}
