// Unit tests of the boot configuration's network keys (mac=, ip=, dhcp=1)
// and its flag held=1:
// every accepted form, every refused one with its own error and span, and
// random values checked against a plain reference parser.
import XCTest

@testable import SecureBindings

final class BootConfigNetTests: XCTestCase {
  private func parse(_ line: String) -> Result<BootConfig, BootConfigError> {
    Array(line.utf8).withUnsafeBytes { buffer in
      do throws(BootConfigError) { return .success(try BootConfig.parse(buffer)) } catch { return .failure(error) }
    }
  }

  private func configError(_ line: String) -> BootConfigError? {
    if case .failure(let error) = parse(line) { return error }
    return nil
  }

  private let base = "name=udp-echo frames=128 slices=1"
  /// Where a value after `base + " mac="` starts.
  private var macValueOffset: Int { base.utf8.count + 5 }

  // MARK: accepted

  func testMacAndIPAreStoredAsNumbers() throws {
    let config = try parse("/boot/udp-echo-0.elf \(base) mac=02:00:00:00:00:01 ip=10.0.2.100").get()
    XCTAssertEqual(config.mac, 0x02_00_00_00_00_01)
    XCTAssertEqual(config.ip, 0x0A00_0264)
    XCTAssertFalse(config.dhcp)
    XCTAssertEqual(config.frames, 128)
  }

  func testMacHexIsEitherCaseAndFirstByteIsMostSignificant() throws {
    XCTAssertEqual(try parse("\(base) mac=0A:1b:2C:3d:4E:5f").get().mac, 0x0A_1B_2C_3D_4E_5F)
    XCTAssertEqual(try parse("\(base) mac=FE:FF:FF:FF:FF:FF").get().mac, 0xFE_FF_FF_FF_FF_FF)
    // QEMU's own default NIC address is locally administered too.
    XCTAssertEqual(try parse("\(base) mac=52:54:00:12:34:56").get().mac, 0x52_54_00_12_34_56)
  }

  func testIPBoundaries() throws {
    for (text, value) in [
      ("0.0.0.1", 1), ("1.2.3.4", 0x0102_0304), ("223.255.255.255", 0xDFFF_FFFF), ("255.255.255.254", 0xFFFF_FFFE),
      ("10.0.2.0", 0x0A00_0200), ("0.0.0.10", 10), ("100.200.250.199", 0x64C8_FAC7),
    ] as [(String, UInt32)] {
      XCTAssertEqual(try parse("\(base) mac=02:00:00:00:00:01 ip=\(text)").get().ip, value, text)
    }
  }

  func testMacAloneAndDHCPAndAnyOrder() throws {
    let alone = try parse("\(base) mac=06:00:00:00:00:09").get()
    XCTAssertEqual(alone.mac, 0x06_00_00_00_00_09)
    XCTAssertNil(alone.ip)
    XCTAssertFalse(alone.dhcp)

    let dhcp = try parse("dhcp=1 \(base) mac=02:00:00:00:00:07").get()
    XCTAssertEqual(dhcp.mac, 0x02_00_00_00_00_07)
    XCTAssertNil(dhcp.ip)
    XCTAssertTrue(dhcp.dhcp)

    let shuffled = try parse("ip=10.0.2.101  arg=x mac=02:00:00:00:00:02 \(base)").get()
    XCTAssertEqual(shuffled.ip, 0x0A00_0265)
    XCTAssertEqual(shuffled.mac, 0x02_00_00_00_00_02)
  }

  func testWithoutNetworkKeysNothingChanges() throws {
    let config = try parse(base).get()
    XCTAssertNil(config.mac)
    XCTAssertNil(config.ip)
    XCTAssertFalse(config.dhcp)
    XCTAssertEqual(config, BootConfig(name: ByteSpan(offset: 5, count: 8), frames: 128, slices: 1))
  }

  func testTheHostHelpersUseTheSameRules() {
    func mac(_ text: String) -> Result<UInt64, BootConfigError> {
      Array(text.utf8).withUnsafeBytes { b in Result { () throws(BootConfigError) in try BootConfig.mac(b) } }
    }
    func ip(_ text: String) -> Result<UInt32, BootConfigError> {
      Array(text.utf8).withUnsafeBytes { b in Result { () throws(BootConfigError) in try BootConfig.ipv4(b) } }
    }
    XCTAssertEqual(try mac("02:00:00:00:00:01").get(), 0x02_00_00_00_00_01)
    XCTAssertEqual(mac("03:00:00:00:00:01"), .failure(.multicastMAC(ByteSpan(offset: 0, count: 17))))
    XCTAssertEqual(try ip("10.0.2.100").get(), 0x0A00_0264)
    XCTAssertEqual(ip("10.0.2"), .failure(.badIP(ByteSpan(offset: 0, count: 6))))
    XCTAssertEqual(ip(""), .failure(.badIP(ByteSpan(offset: 0, count: 0))))
  }

  // MARK: refused

  func testMalformedMacs() {
    for value in [
      "", "02:00:00:00:00", "02:00:00:00:00:01:02", "02-00-00-00-00-01", "0200.0000.0001", "2:0:0:0:0:1",
      "02:00:00:00:00:0g", "02:00:00:00:00:001", "02:00:00:00:00:01:", ":02:00:00:00:00:01", "02::00:00:00:00:01",
      "02:00:00:00:00:1", "0x:02:00:00:00:00", "020000000001", "02:00:00:00:00:01=", "g2:00:00:00:00:01",
      "02:00:00:00:00:é", "02;00;00;00;00;01",
    ] {
      let line = "\(base) mac=\(value)"
      XCTAssertEqual(
        configError(line), .badMAC(ByteSpan(offset: macValueOffset, count: value.utf8.count)), "mac=\(value)")
    }
  }

  func testGroupMacsAreRefused() {
    for value in [
      "01:00:5e:00:00:01", "03:00:00:00:00:01", "ff:ff:ff:ff:ff:ff", "33:33:00:00:00:01", "0F:00:00:00:00:00",
    ] {
      XCTAssertEqual(
        configError("\(base) mac=\(value)"), .multicastMAC(ByteSpan(offset: macValueOffset, count: 17)), value)
    }
  }

  func testUniversallyAdministeredMacsAreRefused() {
    for value in [
      "00:11:22:33:44:55", "00:00:00:00:00:00", "a8:5e:45:00:00:01", "fc:00:00:00:00:01", "04:00:00:00:00:01",
    ] {
      XCTAssertEqual(
        configError("\(base) mac=\(value)"), .universalMAC(ByteSpan(offset: macValueOffset, count: 17)), value)
    }
  }

  func testMalformedIPs() {
    let prefix = "\(base) mac=02:00:00:00:00:01 ip="
    for value in [
      "", "10.0.2", "10.0.2.100.1", "10.0.2.", ".10.0.2", "10..2.100", "10.0.2.256", "10.0.2.1000", "999.0.0.1",
      "010.0.2.100", "10.0.2.00", "10.0.02.1", "10.0.2.-1", "10.0.2.+1", "0x0a.0.2.100", "a10.0.2.1", "10.0.2.1a",
      "1e1.0.0.1", "10.0.2.100/24", "10,0,2,100", "10.0.2.100:80", "4294967295", "10.0.2.1.", "...", "1.2.3.4.5.6",
      "10.0.2.٣", "10.0.0002.1", "00.0.0.1",
    ] {
      XCTAssertEqual(
        configError(prefix + value), .badIP(ByteSpan(offset: prefix.utf8.count, count: value.utf8.count)), "ip=\(value)"
      )
    }
  }

  func testUnusableIPs() {
    let prefix = "\(base) mac=02:00:00:00:00:01 ip="
    for value in ["0.0.0.0", "255.255.255.255", "224.0.0.1", "224.0.0.0", "239.255.255.255", "230.1.2.3"] {
      XCTAssertEqual(
        configError(prefix + value), .unusableIP(ByteSpan(offset: prefix.utf8.count, count: value.utf8.count)), value)
    }
  }

  func testDHCPTakesOnlyOne() {
    for value in ["0", "", "yes", "11", "true", "01", "2", "1=1"] {
      let line = "\(base) mac=02:00:00:00:00:01 dhcp=\(value)"
      let at = line.utf8.count - value.utf8.count
      XCTAssertEqual(configError(line), .badDHCP(ByteSpan(offset: at, count: value.utf8.count)), "dhcp=\(value)")
    }
  }

  func testHeldTakesOnlyOneOnce() throws {
    XCTAssertEqual(try parse(base).get().held, false)
    XCTAssertEqual(try parse("\(base) held=1").get().held, true)
    for value in ["0", "", "yes", "11", "01"] {
      let line = "\(base) held=\(value)"
      let at = line.utf8.count - value.utf8.count
      XCTAssertEqual(configError(line), .badHeld(ByteSpan(offset: at, count: value.utf8.count)), "held=\(value)")
    }
    XCTAssertEqual(
      configError("\(base) held=1 held=1"), .duplicateKey(ByteSpan(offset: base.utf8.count + 8, count: 4)))
  }

  func testAddressesNeedAMacAndExcludeEachOther() {
    XCTAssertEqual(configError("\(base) ip=10.0.2.100"), .addressWithoutMAC)
    XCTAssertEqual(configError("\(base) dhcp=1"), .addressWithoutMAC)
    XCTAssertEqual(configError("\(base) mac=02:00:00:00:00:01 ip=10.0.2.100 dhcp=1"), .ipAndDHCP)
    XCTAssertEqual(configError("dhcp=1 ip=10.0.2.100 mac=02:00:00:00:00:01 \(base)"), .ipAndDHCP)
    // A malformed value is named before the missing MAC.
    XCTAssertEqual(configError("\(base) ip=10.0.2.x"), .badIP(ByteSpan(offset: base.utf8.count + 4, count: 8)))
  }

  func testNetworkKeysGivenTwice() {
    let mac = "mac=02:00:00:00:00:01"
    XCTAssertEqual(
      configError("\(base) \(mac) \(mac)"), .duplicateKey(ByteSpan(offset: base.utf8.count + 23, count: 3)))
    XCTAssertEqual(
      configError("\(base) \(mac) ip=10.0.2.100 ip=10.0.2.100"),
      .duplicateKey(ByteSpan(offset: base.utf8.count + 37, count: 2)))
    XCTAssertEqual(
      configError("\(base) \(mac) dhcp=1 dhcp=1"), .duplicateKey(ByteSpan(offset: base.utf8.count + 30, count: 4)))
    XCTAssertEqual(
      configError("\(base) MAC=02:00:00:00:00:01"), .unknownKey(ByteSpan(offset: base.utf8.count + 1, count: 3)))
    XCTAssertEqual(configError("\(base) ipv4=10.0.2.100"), .unknownKey(ByteSpan(offset: base.utf8.count + 1, count: 4)))
  }

  func testEveryErrorHasItsOwnReason() {
    let span = ByteSpan(offset: 0, count: 0)
    let all: [BootConfigError] = [
      .missingName, .missingFrames, .missingSlices, .unknownKey(span), .duplicateKey(span), .badName,
      .badNumber(span), .outOfRange(span), .badArg, .tooLong, .badMAC(span), .multicastMAC(span),
      .universalMAC(span), .badIP(span), .unusableIP(span), .badDHCP(span), .addressWithoutMAC, .ipAndDHCP,
      .filtersWithoutMAC, .badHeld(span),
    ]
    XCTAssertEqual(Set(all.map { "\($0.reason)" }).count, all.count)
  }

  // MARK: random values against a reference parser


  /// The reference's answer: a value, or the kind of refusal.
  private enum Outcome: Equatable {
    case accepted(UInt64)
    case refused(String)
  }

  /// What a MAC value should parse to, written with String tools rather than bytes.
  private func referenceMAC(_ text: String) -> Outcome {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    guard text.utf8.count == 17, parts.count == 6,
      parts.allSatisfy({ $0.count == 2 && $0.allSatisfy { $0.isASCII && $0.isHexDigit } })
    else { return .refused("bad") }
    let value = parts.reduce(UInt64(0)) { $0 << 8 | UInt64($1, radix: 16)! }
    if (value >> 40) & 1 != 0 { return .refused("multicast") }
    if (value >> 40) & 2 == 0 { return .refused("universal") }
    return .accepted(value)
  }

  private func referenceIP(_ text: String) -> Outcome {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4,
      parts.allSatisfy({ part in
        (1...3).contains(part.count) && part.allSatisfy { $0.isASCII && $0.isNumber }
          && !(part.count > 1 && part.first == "0") && Int(part)! <= 255
      })
    else { return .refused("bad") }
    let value = parts.reduce(UInt32(0)) { $0 << 8 | UInt32($1)! }
    if value == 0 || value == 0xFFFF_FFFF || (224...239).contains(value >> 24) { return .refused("unusable") }
    return .accepted(UInt64(value))
  }

  private func kind(_ error: BootConfigError) -> String {
    switch error {
    case .badMAC, .badIP: return "bad"
    case .multicastMAC: return "multicast"
    case .universalMAC: return "universal"
    case .unusableIP: return "unusable"
    default: return "other: \(error)"
    }
  }

  func testRandomMacsMatchTheReference() {
    var random = SplitMix64(state: 0xACE5)
    let alphabet = Array("0123456789abcdefABCDEFgG:.-x ")
    for round in 0..<4000 {
      let text: String
      if round % 2 == 0 {
        // Well-formed shapes with random bytes: exercises the bit checks.
        text = (0..<6).map { _ in String(format: "%02x", random.below(256)) }.joined(separator: ":")
      } else {
        // Mostly well-formed with one or two characters changed, dropped or added.
        var characters = Array((0..<6).map { _ in String(format: "%02X", random.below(256)) }.joined(separator: ":"))
        for _ in 0...random.below(2) {
          switch random.below(3) {
          case 0: characters[random.below(characters.count)] = alphabet[random.below(alphabet.count)]
          case 1 where characters.count > 1: characters.remove(at: random.below(characters.count))
          default: characters.insert(alphabet[random.below(alphabet.count)], at: random.below(characters.count + 1))
          }
        }
        text = String(characters).replacingOccurrences(of: " ", with: "")
      }
      let got = parse("\(base) mac=\(text)")
      switch (referenceMAC(text), got) {
      case (.accepted(let expected), .success(let config)): XCTAssertEqual(config.mac, expected, text)
      case (.refused(let expected), .failure(let error)): XCTAssertEqual(kind(error), expected, text)
      default: XCTFail("mac=\(text): reference \(referenceMAC(text)), parser \(got)")
      }
    }
  }

  func testRandomIPsMatchTheReference() {
    var random = SplitMix64(state: 0xD07)
    let alphabet = Array("0123456789.x-+ ")
    for round in 0..<4000 {
      var text = (0..<4).map { _ in String(random.below(256)) }.joined(separator: ".")
      if round % 2 == 1 {
        var characters = Array(text)
        switch random.below(4) {
        case 0: characters[random.below(characters.count)] = alphabet[random.below(alphabet.count)]
        case 1: characters.remove(at: random.below(characters.count))
        case 2: characters.insert(alphabet[random.below(alphabet.count)], at: random.below(characters.count + 1))
        default: characters.insert("0", at: 0)
        }
        text = String(characters).replacingOccurrences(of: " ", with: "")
      }
      let got = parse("\(base) mac=02:00:00:00:00:01 ip=\(text)")
      switch (referenceIP(text), got) {
      case (.accepted(let expected), .success(let config)): XCTAssertEqual(config.ip.map(UInt64.init), expected, text)
      case (.refused(let expected), .failure(let error)): XCTAssertEqual(kind(error), expected, text)
      default: XCTFail("ip=\(text): reference \(referenceIP(text)), parser \(got)")
      }
    }
  }

  /// Arbitrary bytes as values: the parser ends with a value or an error, never a trap.
  func testArbitraryBytesNeverTrap() {
    var random = SplitMix64(state: 0xB17E5)
    for _ in 0..<3000 {
      let key = ["mac=", "ip=", "dhcp="][random.below(3)]
      let prefix = key == "mac=" ? "\(base) mac=" : "\(base) mac=02:00:00:00:00:01 \(key)"
      var bytes = Array(prefix.utf8)
      for _ in 0..<random.below(24) { bytes.append(UInt8(truncatingIfNeeded: random.next())) }
      let result = bytes.withUnsafeBytes { buffer -> Result<BootConfig, BootConfigError> in
        do throws(BootConfigError) { return .success(try BootConfig.parse(buffer)) } catch { return .failure(error) }
      }
      // Random bytes can still make a valid line (a NUL ends it early, say): then the key was honoured.
      guard case .success(let config) = result else { continue }
      XCTAssertNotNil(config.mac)
      if key == "ip=" { XCTAssertNotNil(config.ip) }
      if key == "dhcp=" { XCTAssertTrue(config.dhcp) }
    }
  }
}
