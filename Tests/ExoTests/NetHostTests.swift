// Unit tests of the host side of networking: the manifest's mac and ip, the
// module command lines, repeated apps' derived addresses and clashes,
// `--forward` and `--inject`, the exact QEMU arguments, the boot's header
// lines, and the harness's own helpers (host clients, pcap, free ports).
import Foundation
import SecureBindings
import XCTest

@testable import ExoHost

final class NetHostTests: XCTestCase {
  // MARK: fixtures

  private let echoNet = AppNetwork(mac: 0x02_00_00_00_00_01, address: .fixed(0x0A00_0264))
  private let httpdNet = AppNetwork(mac: 0x02_00_00_00_00_10, address: .fixed(0x0A00_0270))
  private var udpEcho: AppManifest { AppManifest(name: "udp-echo", frames: 128, slices: 1, network: echoNet) }
  private var httpd: AppManifest { AppManifest(name: "httpd", frames: 256, slices: 2, network: httpdNet) }
  private let hello = AppManifest(name: "hello", frames: 128, slices: 1)
  private var dhcpClient: AppManifest {
    AppManifest(
      name: "dhcp-client", frames: 128, slices: 1, network: AppNetwork(mac: 0x02_00_00_00_00_20, address: .dhcp))
  }
  private var catalog: AppCatalog { AppCatalog(manifests: [udpEcho, httpd, hello, dhcpClient]) }

  private func manifest(_ text: String, folder: String = "net") -> Result<AppManifest, ManifestError> {
    Result { () throws(ManifestError) in
      try AppManifest.parse(text, file: "apps/\(folder)/app.manifest", folder: folder)
    }
  }

  private func failure(_ body: () throws -> Void) -> ExoFailure? {
    do {
      try body()
      return nil
    } catch {
      return error as? ExoFailure
    }
  }

  private func modules(_ names: String...) throws -> [BootModule] {
    try BootModule.modules(for: names.map { AppChoice(name: $0) }, catalog: catalog)
  }

  // MARK: app.manifest

  func testManifestMacAndIP() throws {
    let parsed = try manifest("name = net\nframes = 64\nslices = 1\nmac = 02:00:00:00:00:01\nip = 10.0.2.100\n").get()
    XCTAssertEqual(parsed.network, AppNetwork(mac: 0x02_00_00_00_00_01, address: .fixed(0x0A00_0264)))
    XCTAssertEqual(parsed.network?.ip, 0x0A00_0264)
    XCTAssertEqual(
      try manifest("name=net\nframes=1\nslices=1\nmac=0A:BB:cc:00:00:01\nip=dhcp").get().network,
      AppNetwork(mac: 0x0A_BB_CC_00_00_01, address: .dhcp))
    XCTAssertEqual(
      try manifest("name=net\nframes=1\nslices=1\nmac=02:00:00:00:00:01").get().network,
      AppNetwork(mac: 0x02_00_00_00_00_01, address: .none))
    XCTAssertNil(try manifest("name=net\nframes=1\nslices=1").get().network)
  }

  private func manifestError(_ extra: String) -> ManifestError? {
    if case .failure(let error) = manifest("name = net\nframes = 1\nslices = 1\n" + extra) { return error }
    return nil
  }

  func testManifestRefusesBadNetworkKeysOnTheirLine() {
    let cases: [(String, Int, String)] = [
      ("ip = 10.0.2.100", 4, "ip needs a mac as well"),
      (
        "mac = 02:00:00:00:00", 4,
        "mac must be 6 hex pairs joined by colons, like 02:00:00:00:00:01, found '02:00:00:00:00'"
      ),
      ("mac = 01:00:5e:00:00:01", 4, "mac must be unicast (bit 0 of the first byte clear), found '01:00:5e:00:00:01'"),
      (
        "mac = 00:11:22:33:44:55", 4,
        "mac must be locally administered (bit 1 of the first byte set), found '00:11:22:33:44:55'"
      ),
      (
        "mac = 02:00:00:00:00:01\nip = 10.0.2", 5,
        "ip must be 4 decimal parts 0-255 without leading zeros, like 10.0.2.100 (or dhcp), found '10.0.2'"
      ),
      (
        "mac = 02:00:00:00:00:01\nip = 224.0.0.1", 5,
        "ip must not be 0.0.0.0, 255.255.255.255 or multicast (or dhcp), found '224.0.0.1'"
      ),
      (
        "mac = 02:00:00:00:00:01\nip = 192.168.1.2", 5,
        "ip 192.168.1.2 is not on QEMU's user network 10.0.2.0/24; use 10.0.2.100 onward"
      ),
      ("mac = 02:00:00:00:00:01\nip = 10.0.2.2", 5, "ip 10.0.2.2 is QEMU's gateway; use 10.0.2.100 onward"),
      ("mac = 02:00:00:00:00:01\nip = 10.0.2.3", 5, "ip 10.0.2.3 is QEMU's DNS server; use 10.0.2.100 onward"),
      (
        "mac = 02:00:00:00:00:01\nip = 10.0.2.255", 5,
        "ip 10.0.2.255 is the network's own or broadcast address; use 10.0.2.100 onward"
      ),
      (
        "mac = 02:00:00:00:00:01\nip = 10.0.2.15", 5,
        "ip 10.0.2.15 is in QEMU's DHCP pool 10.0.2.15-10.0.2.30, which leases it to others; use 10.0.2.100 onward"
      ),
      ("mac = 02:00:00:00:00:01\nmac = 02:00:00:00:00:02", 5, "'mac' is set twice (first on line 4)"),
      ("ipv4 = 10.0.2.100", 4, "unknown key 'ipv4' (the keys are name, frames, slices, summary, mac, ip, filters)"),
    ]
    for (extra, line, message) in cases {
      let error = manifestError(extra)
      XCTAssertEqual(error?.line, line, extra)
      XCTAssertEqual(error?.message, message, extra)
    }
    // Both edges of the DHCP pool, and the free addresses beside them.
    for host in [15, 30] { XCTAssertNotNil(manifestError("mac=02:00:00:00:00:01\nip=10.0.2.\(host)"), "\(host)") }
    for host in [4, 14, 31, 100, 254] {
      XCTAssertNil(manifestError("mac=02:00:00:00:00:01\nip=10.0.2.\(host)"), "\(host)")
    }
  }

  func testAddressText() throws {
    XCTAssertEqual(AppNetwork.text(mac: 0x02_00_00_00_00_01), "02:00:00:00:00:01")
    XCTAssertEqual(AppNetwork.text(mac: 0x0A_BB_CC_DD_EE_FF), "0a:bb:cc:dd:ee:ff")
    XCTAssertEqual(AppNetwork.text(ip: 0x0A00_0264), "10.0.2.100")
    XCTAssertEqual(AppNetwork.text(ip: 0xFFFF_FFFE), "255.255.255.254")
    var random = SplitMix64(state: 0x7E57)
    for _ in 0..<500 {
      let mac = (random.next() & 0xFFFF_FFFF_FFFF & ~(UInt64(1) << 40)) | UInt64(2) << 40
      XCTAssertEqual(try AppNetwork.parse(mac: AppNetwork.text(mac: mac)), mac)
      let ip = UInt32(truncatingIfNeeded: random.next()) & 0x0FFF_FFFF | 0x1000_0000
      XCTAssertEqual(try AppNetwork.parse(ip: AppNetwork.text(ip: ip)), ip, AppNetwork.text(ip: ip))
    }
  }

  func testRepeatedIdentityAddsToTheLastBytes() {
    XCTAssertEqual(echoNet.repeated(0), echoNet)
    XCTAssertEqual(echoNet.repeated(2), AppNetwork(mac: 0x02_00_00_00_00_03, address: .fixed(0x0A00_0266)))
    XCTAssertEqual(
      AppNetwork(mac: 0x02_00_00_00_00_FE, address: .dhcp).repeated(1),
      AppNetwork(mac: 0x02_00_00_00_00_FF, address: .dhcp))
    XCTAssertNil(AppNetwork(mac: 0x02_00_00_00_00_FF).repeated(1), "the MAC's last byte would carry")
    XCTAssertNil(AppNetwork(mac: 0x02_00_00_00_00_01, address: .fixed(0x0A00_02FF)).repeated(1), "the ip would carry")
    XCTAssertNil(echoNet.repeated(-1))
  }

  // MARK: module command lines

  func testCommandLinesCarryMacAndIPOrDHCP() throws {
    XCTAssertEqual(
      BootModule.commandLine(for: udpEcho, arg: nil),
      "name=udp-echo frames=128 slices=1 mac=02:00:00:00:00:01 ip=10.0.2.100")
    XCTAssertEqual(
      BootModule.commandLine(for: udpEcho, arg: "loud", slices: 3),
      "name=udp-echo frames=128 slices=3 arg=loud mac=02:00:00:00:00:01 ip=10.0.2.100")
    XCTAssertEqual(
      BootModule.commandLine(for: dhcpClient, arg: nil),
      "name=dhcp-client frames=128 slices=1 mac=02:00:00:00:00:20 dhcp=1")
    let raw = AppManifest(name: "raw", frames: 8, slices: 1, network: AppNetwork(mac: 0x06_00_00_00_00_01))
    XCTAssertEqual(BootModule.commandLine(for: raw, arg: nil), "name=raw frames=8 slices=1 mac=06:00:00:00:00:01")
    XCTAssertEqual(BootModule.commandLine(for: hello, arg: nil), "name=hello frames=128 slices=1")
  }

  /// What the host writes, the kernel's parser reads back to the same values.
  func testTheKernelReadsBackWhatTheHostWrites() throws {
    for module in try modules("udp-echo", "udp-echo", "dhcp-client", "hello", "httpd") {
      let line = QemuModule(path: module.imagePath, commandLine: module.commandLine).multibootString
      let config = try Array(line.utf8).withUnsafeBytes { buffer in
        Result { () throws(BootConfigError) in try BootConfig.parse(buffer) }
      }.get()
      XCTAssertEqual(config.mac, module.network?.mac, line)
      XCTAssertEqual(config.ip, module.network?.ip, line)
      XCTAssertEqual(config.dhcp, module.network?.address == .dhcp, line)
    }
  }

  // MARK: several networked apps in one boot

  func testRepeatedAppsGetDerivedAddresses() throws {
    let boot = try modules("udp-echo", "hello", "udp-echo", "udp-echo")
    XCTAssertEqual(
      boot.map(\.network),
      [
        echoNet, nil, AppNetwork(mac: 0x02_00_00_00_00_02, address: .fixed(0x0A00_0265)),
        AppNetwork(mac: 0x02_00_00_00_00_03, address: .fixed(0x0A00_0266)),
      ])
    XCTAssertEqual(boot[2].commandLine, "name=udp-echo frames=128 slices=1 mac=02:00:00:00:00:02 ip=10.0.2.101")
    XCTAssertEqual(
      BootNetwork.headerLines(modules: boot, network: nil),
      [
        "exo: network: udp-echo in slot 0: mac 02:00:00:00:00:01 ip 10.0.2.100",
        "exo: network: udp-echo in slot 2: mac 02:00:00:00:00:02 ip 10.0.2.101 (instance 2: its manifest's + 1)",
        "exo: network: udp-echo in slot 3: mac 02:00:00:00:00:03 ip 10.0.2.102 (instance 3: its manifest's + 2)",
      ])
  }

  func testTwoManifestsWithOneMacOrIPAreABadManifest() {
    let sameMac = AppManifest(
      name: "twin", frames: 1, slices: 1, network: AppNetwork(mac: echoNet.mac, address: .fixed(0x0A00_0299)))
    let sameIP = AppManifest(
      name: "twin", frames: 1, slices: 1, network: AppNetwork(mac: 0x02_00_00_00_00_99, address: echoNet.address))
    for (twin, what) in [(sameMac, "mac 02:00:00:00:00:01"), (sameIP, "ip 10.0.2.100")] {
      let failure = failure {
        _ = try BootModule.modules(
          for: [AppChoice(name: "udp-echo"), AppChoice(name: "twin")], catalog: AppCatalog(manifests: [udpEcho, twin]))
      }
      XCTAssertEqual(failure?.exitStatus, ExitStatus.config)
      XCTAssertEqual(
        failure?.message,
        "udp-echo in slot 0 (apps/udp-echo/app.manifest) and twin in slot 1 (apps/twin/app.manifest) both have \(what); "
          + "each networked app in a boot needs its own mac and ip")
    }
  }

  func testDerivedAddressesThatClashOrLeaveTheNetworkAreUsageErrors() {
    // udp-echo's second instance would take httpd's neighbour: make httpd sit exactly there.
    let neighbour = AppManifest(
      name: "next", frames: 1, slices: 1, network: AppNetwork(mac: 0x02_00_00_00_00_02, address: .fixed(0x0A00_0299)))
    let clash = failure {
      _ = try BootModule.modules(
        for: ["next", "udp-echo", "udp-echo"].map { AppChoice(name: $0) },
        catalog: AppCatalog(manifests: [udpEcho, neighbour]))
    }
    XCTAssertEqual(clash?.exitStatus, ExitStatus.usage)
    XCTAssertEqual(
      clash?.message,
      "next in slot 0 (apps/next/app.manifest) and udp-echo in slot 2 (instance 2: its manifest's + 1) both have "
        + "mac 02:00:00:00:00:02; each networked app in a boot needs its own mac and ip")

    let low = AppManifest(
      name: "low", frames: 1, slices: 1, network: AppNetwork(mac: 0x02_00_00_00_00_01, address: .fixed(0x0A00_020E)))
    let intoPool = failure {
      _ = try BootModule.modules(
        for: [AppChoice(name: "low"), AppChoice(name: "low")], catalog: AppCatalog(manifests: [low]))
    }
    XCTAssertEqual(intoPool?.exitStatus, ExitStatus.usage)
    XCTAssertEqual(
      intoPool?.message,
      "low in slot 1 (instance 2: its manifest's + 1) would get ip 10.0.2.15 is in QEMU's DHCP pool 10.0.2.15-10.0.2.30, "
        + "which leases it to others; boot fewer instances")

    let top = AppManifest(
      name: "top", frames: 1, slices: 1, network: AppNetwork(mac: 0x02_00_00_00_00_FF, address: .dhcp))
    let carry = failure {
      _ = try BootModule.modules(
        for: [AppChoice(name: "top"), AppChoice(name: "top")], catalog: AppCatalog(manifests: [top]))
    }
    XCTAssertEqual(carry?.exitStatus, ExitStatus.usage)
    XCTAssertTrue(
      carry?.message.hasPrefix("top in slot 1 (instance 2: its manifest's + 1) would need a mac or ip past") ?? false)
  }

  func testDHCPAppsMayRepeatAndShareNoAddress() throws {
    let boot = try modules("dhcp-client", "dhcp-client", "udp-echo")
    XCTAssertEqual(boot.map { $0.network?.mac }, [0x02_00_00_00_00_20, 0x02_00_00_00_00_21, 0x02_00_00_00_00_01])
    XCTAssertEqual(boot.map { $0.network?.ip }, [nil, nil, 0x0A00_0264])
  }

  /// Random boots over random manifests: either refused, or every networked
  /// module has its own MAC and IP and the first instance keeps its manifest's.
  func testRandomBootsNeverShareAnAddress() {
    var random = SplitMix64(state: 0xB007)
    for round in 0..<400 {
      let manifests = (0..<(1 + random.below(4))).map { i -> AppManifest in
        let mac = 0x02_00_00_00_00_00 | UInt64(random.below(8))
        let address: AppNetwork.Address =
          [.none, .dhcp, .fixed(0x0A00_0200 | UInt32(98 + random.below(8)))][random.below(3)]
        return AppManifest(
          name: "app\(i)", frames: 1, slices: 1,
          network: random.below(4) == 0 ? nil : AppNetwork(mac: mac, address: address))
      }
      let choices = (0..<(1 + random.below(6))).map { _ in
        AppChoice(name: manifests[random.below(manifests.count)].name)
      }
      do {
        let boot = try BootModule.modules(for: choices, catalog: AppCatalog(manifests: manifests))
        let networks = boot.compactMap(\.network)
        XCTAssertEqual(Set(networks.map(\.mac)).count, networks.count, "round \(round)")
        let ips = networks.compactMap(\.ip)
        XCTAssertEqual(Set(ips).count, ips.count, "round \(round)")
        for module in boot
        where !boot.contains(where: { $0.slot < module.slot && $0.manifest.name == module.manifest.name }) {
          XCTAssertEqual(module.network, module.manifest.network, "round \(round)")
        }
      } catch let failure as ExoFailure {
        XCTAssertTrue([ExitStatus.usage, ExitStatus.config].contains(failure.exitStatus), "round \(round): \(failure)")
        XCTAssertTrue(failure.message.contains("both have") || failure.message.contains("would"), failure.message)
      } catch {
        XCTFail("round \(round): \(error)")
      }
    }
  }

  // MARK: --forward and --inject

  func testForwardForms() throws {
    XCTAssertEqual(try ForwardRequest.parse("8080:80"), ForwardRequest(hostPort: 8080, guestPort: 80))
    XCTAssertEqual(
      try ForwardRequest.parse("httpd:8080:80"), ForwardRequest(app: "httpd", hostPort: 8080, guestPort: 80))
    XCTAssertEqual(try ForwardRequest.parse("udp:5555:7"), ForwardRequest(.udp, hostPort: 5555, guestPort: 7))
    XCTAssertEqual(try ForwardRequest.parse("tcp:1:65535"), ForwardRequest(.tcp, hostPort: 1, guestPort: 65535))
    XCTAssertEqual(
      try ForwardRequest.parse("udp:udp-echo:5555:7"),
      ForwardRequest(.udp, app: "udp-echo", hostPort: 5555, guestPort: 7))
    // An app that happens to be called udp needs the protocol spelled out.
    XCTAssertEqual(
      try ForwardRequest.parse("tcp:udp:80:80"), ForwardRequest(.tcp, app: "udp", hostPort: 80, guestPort: 80))
  }

  func testBadForwardsAreUsageErrors() {
    for text in [
      "", "80", "0:80", "80:0", "65536:80", "80:65536", "-1:80", "+80:80", " 80:80", "80:80 ", "8o:80", "a:b", ":80",
      "80:", "udp:80", "udp:", "udp:tcp:80", "Httpd:80:80", "my_app:80:80", "a:b:80:80", "udp:a:b:80:80", "0x50:80",
      "99999999999999999999:80", "٨٠:80",
    ] {
      let failure = failure { _ = try ForwardRequest.parse(text) }
      XCTAssertEqual(failure?.exitStatus, ExitStatus.usage, "'\(text)'")
      XCTAssertEqual(failure?.message.contains("\n"), false, "'\(text)'")
      XCTAssertEqual(failure?.message.hasPrefix("--forward takes [udp:][APP:]HOSTPORT:GUESTPORT"), true, "'\(text)'")
    }
  }

  func testForwardsResolveToTheAppsAddress() throws {
    let single = try modules("hello", "udp-echo")
    XCTAssertEqual(
      try PortForward.resolve([ForwardRequest(.udp, hostPort: 5555, guestPort: 7)], modules: single),
      [PortForward(.udp, hostPort: 5555, app: "udp-echo", guestIP: 0x0A00_0264, guestPort: 7)])

    let several = try modules("udp-echo", "httpd", "udp-echo")
    let resolved = try PortForward.resolve(
      [
        ForwardRequest(app: "httpd", hostPort: 8080, guestPort: 80),
        ForwardRequest(.udp, app: "udp-echo", hostPort: 8080, guestPort: 7),
      ],
      modules: several)
    XCTAssertEqual(
      resolved.map(\.hostfwd),
      [
        "hostfwd=tcp:127.0.0.1:8080-10.0.2.112:80", "hostfwd=udp:127.0.0.1:8080-10.0.2.100:7",
      ])
    XCTAssertEqual(
      resolved.map(\.label),
      [
        "127.0.0.1:8080 -> httpd 10.0.2.112:80 (tcp)", "127.0.0.1:8080 -> udp-echo 10.0.2.100:7 (udp)",
      ])
  }

  func testForwardRefusals() throws {
    let cases: [([String], ForwardRequest, String)] = [
      (
        ["hello"], ForwardRequest(hostPort: 8080, guestPort: 80),
        "--forward needs a networked app (one whose app.manifest has a mac and an ip), and this boot has none"
      ),
      (
        ["udp-echo", "httpd"], ForwardRequest(hostPort: 8080, guestPort: 80),
        "--forward 8080:80 must name its app (APP:HOSTPORT:GUESTPORT): this boot has 2 networked apps"
      ),
      (
        ["udp-echo", "udp-echo"], ForwardRequest(hostPort: 8080, guestPort: 80),
        "--forward 8080:80 must name its app (APP:HOSTPORT:GUESTPORT): this boot has 2 networked apps"
      ),
      (
        ["udp-echo"], ForwardRequest(app: "httpd", hostPort: 8080, guestPort: 80),
        "--forward names app 'httpd', which is not in this boot (udp-echo)"
      ),
      (
        ["udp-echo", "hello"], ForwardRequest(app: "hello", hostPort: 8080, guestPort: 80),
        "--forward to hello: the app has no network (no mac in apps/hello/app.manifest)"
      ),
      (
        ["dhcp-client"], ForwardRequest(hostPort: 8080, guestPort: 80),
        "--forward to dhcp-client: the app has no static ip (it uses dhcp), and QEMU fixes a forward's guest address when it starts"
      ),
    ]
    for (apps, request, message) in cases {
      let boot = try BootModule.modules(for: apps.map { AppChoice(name: $0) }, catalog: catalog)
      let failure = failure { _ = try PortForward.resolve([request], modules: boot) }
      XCTAssertEqual(failure?.exitStatus, ExitStatus.usage, message)
      XCTAssertEqual(failure?.showsUsage, false, message)
      XCTAssertEqual(failure?.message, message)
    }
    let duplicate = failure {
      _ = try PortForward.resolve(
        [ForwardRequest(hostPort: 8080, guestPort: 80), ForwardRequest(hostPort: 8080, guestPort: 81)],
        modules: try self.modules("httpd"))
    }
    XCTAssertEqual(duplicate?.exitStatus, ExitStatus.usage)
    XCTAssertEqual(duplicate?.message, "--forward: host port tcp 8080 is forwarded twice (already to httpd port 80)")
  }

  func testInjectForms() throws {
    XCTAssertEqual(try FrameInjection.parse("40000:40001"), FrameInjection(framesIn: 40000, framesOut: 40001))
    for bad in [
      "", "4000", "4000:4000", "0:4001", "4000:65536", "4000:4001:4002", "a:b", "4000:", ":4001", "-1:4001", "+1:2",
    ] {
      let failure = failure { _ = try FrameInjection.parse(bad) }
      XCTAssertEqual(failure?.exitStatus, ExitStatus.usage, bad)
      XCTAssertEqual(failure?.showsUsage, true, bad)
    }
  }

  func testBootOptionsCollectForwardsAndInjection() throws {
    let known = ["udp-echo", "httpd", "hello"]
    let options = try BootOptions.parse(
      ["httpd", "--forward", "8080:80", "--forward=udp:5555:7", "udp-echo", "--inject", "4000:4001"], knownApps: known)
    XCTAssertEqual(options.apps, [AppChoice(name: "httpd"), AppChoice(name: "udp-echo")])
    XCTAssertEqual(
      options.network,
      NetworkOptions(
        forwards: [ForwardRequest(hostPort: 8080, guestPort: 80), ForwardRequest(.udp, hostPort: 5555, guestPort: 7)],
        injection: FrameInjection(framesIn: 4000, framesOut: 4001)))
    XCTAssertEqual(try BootOptions.parse(["hello"], knownApps: known).network, NetworkOptions())
    for arguments in [
      ["httpd", "--forward"], ["httpd", "--inject", "1:2", "--inject", "3:4"], ["httpd", "--forward", "80"],
    ] {
      XCTAssertEqual(failure { _ = try BootOptions.parse(arguments, knownApps: known) }?.exitStatus, 64, "\(arguments)")
    }
  }

  // MARK: QEMU arguments

  private let user = "user,id=net0,net=10.0.2.0/24"
  private let nic = ["-device", "virtio-net-pci,netdev=net0,disable-modern=on"]

  func testNoNICWithoutANetworkedApp() throws {
    let plan = try BootPlan(root: URL(fileURLWithPath: "/x"), catalog: catalog, apps: [AppChoice(name: "hello")])
    XCTAssertNil(plan.machine.network)
    let arguments = try plan.machine.arguments()
    XCTAssertFalse(arguments.contains("-netdev"))
    XCTAssertFalse(arguments.contains { $0.contains("virtio") })
    XCTAssertEqual(plan.networkLines, [])
  }

  func testNICOnTheUserNetworkWithForwards() throws {
    XCTAssertEqual(try QemuNetwork().arguments(), ["-netdev", user] + nic)
    let forwards = [
      PortForward(.tcp, hostPort: 8080, app: "httpd", guestIP: 0x0A00_0270, guestPort: 80),
      PortForward(.udp, hostPort: 5555, app: "udp-echo", guestIP: 0x0A00_0264, guestPort: 7),
    ]
    XCTAssertEqual(
      try QemuNetwork(forwards: forwards).arguments(),
      ["-netdev", user + ",hostfwd=tcp:127.0.0.1:8080-10.0.2.112:80,hostfwd=udp:127.0.0.1:5555-10.0.2.100:7"] + nic)
  }

  func testInjectionJoinsTheUserNetworkTheLinkAndTheNICOnOneHub() throws {
    let network = QemuNetwork(
      forwards: [PortForward(.tcp, hostPort: 8080, app: "httpd", guestIP: 0x0A00_0270, guestPort: 80)],
      injection: FrameInjection(framesIn: 40000, framesOut: 40001), pcapPath: "/tmp/nic.pcap")
    XCTAssertEqual(
      try network.arguments(),
      [
        "-netdev", "user,id=user0,net=10.0.2.0/24,hostfwd=tcp:127.0.0.1:8080-10.0.2.112:80",
        "-netdev",
        "dgram,id=inject0,local.type=inet,local.host=127.0.0.1,local.port=40000,remote.type=inet,remote.host=127.0.0.1,remote.port=40001",
        "-netdev", "hubport,id=hub0user,hubid=0,netdev=user0",
        "-netdev", "hubport,id=hub0inject,hubid=0,netdev=inject0",
        "-netdev", "hubport,id=net0,hubid=0",
      ] + nic + ["-object", "filter-dump,id=dump0,netdev=net0,file=/tmp/nic.pcap"])
    XCTAssertThrowsError(try QemuNetwork(pcapPath: "/tmp/a,b.pcap").arguments())
  }

  func testBootPlanPutsTheNICAfterTheModulesAndSaysWhatItForwards() throws {
    let plan = try BootPlan(
      root: URL(fileURLWithPath: "/x"), catalog: catalog,
      apps: [AppChoice(name: "hello"), AppChoice(name: "httpd"), AppChoice(name: "httpd")],
      network: NetworkOptions(forwards: [try ForwardRequest.parse("httpd:8080:80")]))
    let arguments = try plan.machine.arguments()
    let images = BuildPlan.imagesFolder
    let initrd = try XCTUnwrap(arguments.firstIndex(of: "-initrd"))
    XCTAssertEqual(
      arguments[initrd + 1],
      "\(images)/hello-0.elf name=hello frames=128 slices=1,"
        + "\(images)/httpd-1.elf name=httpd frames=256 slices=2 mac=02:00:00:00:00:10 ip=10.0.2.112,"
        + "\(images)/httpd-2.elf name=httpd frames=256 slices=2 mac=02:00:00:00:00:11 ip=10.0.2.113")
    XCTAssertEqual(
      Array(arguments[(initrd + 2)...]),
      ["-netdev", user + ",hostfwd=tcp:127.0.0.1:8080-10.0.2.112:80"] + nic)
    XCTAssertEqual(
      plan.networkLines,
      [
        "exo: network: httpd in slot 1: mac 02:00:00:00:00:10 ip 10.0.2.112",
        "exo: network: httpd in slot 2: mac 02:00:00:00:00:11 ip 10.0.2.113 (instance 2: its manifest's + 1)",
        "exo: forwarding 127.0.0.1:8080 -> httpd 10.0.2.112:80 (tcp)",
      ])
    let gdb = try BootPlan(
      root: URL(fileURLWithPath: "/x"), catalog: catalog, apps: [AppChoice(name: "httpd")], gdb: true
    ).machine.arguments()
    XCTAssertEqual(Array(gdb.suffix(2)), ["-s", "-S"], "-s -S stay last")
  }

  func testInjectionNeedsANICAndItsOwnPorts() throws {
    let root = URL(fileURLWithPath: "/x")
    let noNIC = failure {
      _ = try BootPlan(
        root: root, catalog: catalog, apps: [AppChoice(name: "hello")],
        network: NetworkOptions(injection: FrameInjection(framesIn: 4000, framesOut: 4001)))
    }
    XCTAssertEqual(noNIC?.exitStatus, ExitStatus.usage)
    XCTAssertEqual(
      noNIC?.message,
      "--inject needs a networked app (one whose app.manifest has a mac): without one the guest has no NIC")
    let taken = failure {
      _ = try BootPlan(
        root: root, catalog: catalog, apps: [AppChoice(name: "udp-echo")],
        network: NetworkOptions(
          forwards: [ForwardRequest(.udp, hostPort: 4001, guestPort: 7)],
          injection: FrameInjection(framesIn: 4000, framesOut: 4001)))
    }
    XCTAssertEqual(taken?.exitStatus, ExitStatus.usage)
    XCTAssertEqual(taken?.message, "--inject's port 4001 is also forwarded to udp-echo (udp); pick another")
    // A TCP forward on the same number is a different port.
    let plan = try BootPlan(
      root: root, catalog: catalog, apps: [AppChoice(name: "udp-echo")],
      network: NetworkOptions(
        forwards: [ForwardRequest(.tcp, hostPort: 4001, guestPort: 7)],
        injection: FrameInjection(framesIn: 4000, framesOut: 4001)))
    XCTAssertEqual(
      plan.networkLines.last,
      "exo: injecting: raw frames sent to 127.0.0.1:4000 (udp) join the guest's network; its frames are copied to 127.0.0.1:4001"
    )
  }

  // MARK: the harness's helpers

  func testHostClientReportsStatusOutputAndTimeouts() throws {
    let done = try HostClient.run(
      "sh", ["-c", "read x; echo out:$x; echo err >&2; exit 3"], input: "in\n", timeout: 10)
    XCTAssertEqual(done.status, 3)
    XCTAssertEqual(done.stdout, "out:in\n")
    XCTAssertEqual(done.stderr, "err\n")
    XCTAssertFalse(done.timedOut)

    let start = Date()
    // The shell's own child dies with it.
    let hung = try HostClient.run("sh", ["-c", "sleep 30; echo never"], timeout: 0.5)
    XCTAssertTrue(hung.timedOut)
    XCTAssertEqual(hung.status, 128 + SIGKILL)
    XCTAssertEqual(hung.stdout, "")
    XCTAssertLessThan(Date().timeIntervalSince(start), 10)
    XCTAssertThrowsError(try HostClient.run("no-such-tool-exo", [], timeout: 1))
  }

  func testFreePortsAreBindableAndDistinct() throws {
    let tcp = try FreePort.tcp()
    let udp = try FreePort.udp()
    XCTAssertTrue(ForwardRequest.ports.contains(tcp))
    XCTAssertTrue(ForwardRequest.ports.contains(udp))
    let tap = try FrameTap()
    defer { tap.close() }
    XCTAssertNotEqual(tap.port, 0)
    try FrameTap.send([1, 2, 3, 4], to: tap.port)
    XCTAssertEqual(tap.receive(timeout: 2), [1, 2, 3, 4])
    XCTAssertNil(tap.receive(timeout: 0.1))
  }

  func testPcapReaderReadsFramesAndRefusesGarbage() throws {
    func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    let header = le32(0xA1B2_C3D4) + [2, 0, 4, 0] + le32(0) + le32(0) + le32(65535) + le32(1)
    let frame: [UInt8] = Array(repeating: 0xAB, count: 60)
    let file =
      header + le32(1) + le32(2) + le32(60) + le32(60) + frame + le32(3) + le32(4) + le32(2) + le32(2) + [1, 2]
    XCTAssertEqual(try Pcap.frames(file), [frame, [1, 2]])
    XCTAssertEqual(try Pcap.frames(header), [])
    XCTAssertThrowsError(try Pcap.frames(Array(header.prefix(10))))
    XCTAssertThrowsError(try Pcap.frames([0, 0, 0, 0] + Array(header.dropFirst(4))))
    XCTAssertThrowsError(
      try Pcap.frames(header + le32(1) + le32(2) + le32(100) + le32(100) + [1, 2, 3]), "a cut record")
    XCTAssertThrowsError(try Pcap.frames(header + le32(1) + le32(2) + le32(0xFFFF_FFFF) + le32(1)), "a huge length")
  }
}

