// `exo bench net` without QEMU: the filter quota key on both sides (the
// kernel's BootConfig and the host's manifest, hostile values included), the
// ring slot's cost word, netbench's JSON line, the report, and the bench's
// arguments.
import Foundation
import SecureBindings
import XCTest

@testable import ExoHost

final class NetBenchTests: XCTestCase {
  private let base = "name=netbench frames=512 slices=1 mac=02:00:00:00:01:40 ip=10.0.2.140"

  private func parse(_ line: String) -> Result<BootConfig, BootConfigError> {
    Array(line.utf8).withUnsafeBytes { buffer in
      do throws(BootConfigError) { return .success(try BootConfig.parse(buffer)) } catch { return .failure(error) }
    }
  }

  // MARK: filters= in the boot configuration

  func testFilterQuotaDefaultsToEightAndTakesOneToSixtyFour() throws {
    XCTAssertNil(try parse(base).get().filters)
    XCTAssertEqual(try parse(base).get().filterQuota, 8)
    XCTAssertEqual(try parse(base + " filters=64").get().filterQuota, 64)
    XCTAssertEqual(try parse(base + " filters=1").get().filterQuota, 1)
    XCTAssertEqual(try parse("filters=17 " + base).get().filters, 17)
    XCTAssertEqual(try parse(base + " filters=2").get().mac, 0x02_00_00_00_01_40)
  }

  func testHostileFilterQuotasAreRefused() {
    let offset = base.utf8.count + " filters=".utf8.count
    func refusal(_ value: String) -> BootConfigError? {
      if case .failure(let error) = parse(base + " filters=" + value) { return error }
      return nil
    }
    let span = { (count: Int) in ByteSpan(offset: offset, count: count) }
    XCTAssertEqual(refusal("0"), .outOfRange(span(1)))
    XCTAssertEqual(refusal("65"), .outOfRange(span(2)))
    XCTAssertEqual(refusal("128"), .outOfRange(span(3)))
    XCTAssertEqual(refusal("18446744073709551616"), .badNumber(span(20)))  // 2^64 does not wrap to 0
    XCTAssertEqual(refusal("99999999999999999999999"), .badNumber(span(23)))
    XCTAssertEqual(refusal("-1"), .badNumber(span(2)))
    XCTAssertEqual(refusal("0x40"), .badNumber(span(4)))
    XCTAssertEqual(refusal("6a"), .badNumber(span(2)))
    XCTAssertEqual(refusal(""), .badNumber(span(0)))
    XCTAssertEqual(refusal("+8"), .badNumber(span(2)))
    if case .failure(let error) = parse(base + " filters=8 filters=8") {
      XCTAssertEqual(error, .duplicateKey(ByteSpan(offset: base.utf8.count + 11, count: 7)))
    } else {
      XCTFail("a second filters= was accepted")
    }
    // A quota is a network binding's; without a mac it is refused, not ignored.
    XCTAssertEqual(
      { () -> BootConfigError? in
        if case .failure(let e) = parse("name=hello frames=8 slices=1 filters=8") { return e }
        return nil
      }(), .filtersWithoutMAC)
    XCTAssertNotEqual("\(BootConfigError.filtersWithoutMAC.reason)", "\(BootConfigError.addressWithoutMAC.reason)")
  }

  /// The kernel's table holds one env at the largest quota beside others at the default.
  func testTheLargestQuotaLeavesRoomInTheKernelsTable() throws {
    XCTAssertEqual(BootConfig.filtersRange.upperBound, 64)
    let kernel = try String(contentsOf: packageFile("exo/Network.swift"), encoding: .utf8)
    XCTAssertTrue(kernel.contains("static let maxFilters = 128"), "exo/Network.swift's table size changed")
    XCTAssertTrue(kernel.contains("filterCount < env.pointee.filterQuota"), "net_bind no longer checks the quota")
    XCTAssertGreaterThanOrEqual(128, Int(BootConfig.filtersRange.upperBound + 7 * BootConfig.defaultFilters))
  }

  // MARK: filters = N in app.manifest

  private func manifest(_ extra: String) -> Result<AppManifest, ManifestError> {
    let text = "name = netbench\nframes = 512\nslices = 1\nmac = 02:00:00:00:01:40\nip = 10.0.2.140\n" + extra
    do throws(ManifestError) {
      return .success(try AppManifest.parse(text, file: "apps/netbench/app.manifest", folder: "netbench"))
    } catch { return .failure(error) }
  }

  func testManifestQuotaReachesTheCommandLine() throws {
    let parsed = try manifest("filters = 64\n").get()
    XCTAssertEqual(parsed.filters, 64)
    let line = BootModule.commandLine(for: parsed, arg: "icount-f64")
    XCTAssertEqual(
      line, "name=netbench frames=512 slices=1 arg=icount-f64 mac=02:00:00:00:01:40 ip=10.0.2.140 filters=64")
    XCTAssertNil(BootModule.kernelRefusal(of: line))
    let plain = try manifest("").get()
    XCTAssertNil(plain.filters)
    XCTAssertFalse(BootModule.commandLine(for: plain, arg: nil).contains("filters"))
  }

  func testManifestRefusesBadQuotas() {
    for bad in ["0", "65", "-3", "1e3", "0x40", "sixty", "", "64 64", "9223372036854775808"] {
      guard case .failure(let error) = manifest("filters = \(bad)\n") else {
        XCTFail("filters = \(bad) was accepted")
        continue
      }
      XCTAssertEqual(error.line, 6, bad)
      XCTAssertTrue(error.message.contains("filters must be a whole number in 1...64"), error.message)
    }
    let noMAC = "name = hello\nframes = 8\nslices = 1\nfilters = 8\n"
    XCTAssertThrowsError(try AppManifest.parse(noMAC, file: "m", folder: "hello")) { error in
      XCTAssertEqual((error as? ManifestError)?.line, 4)
      XCTAssertTrue("\(error)".contains("filters needs a mac"), "\(error)")
    }
    guard case .failure(let twice) = manifest("filters = 8\nfilters = 9\n") else { return XCTFail("two filters lines") }
    XCTAssertTrue(twice.message.contains("set twice"), twice.message)
  }

  func testNetbenchsOwnManifestAsksForSixtyFour() throws {
    let catalog = try AppCatalog.load(root: try PackageRoot.find(from: packageFile("Package.swift")))
    let netbench = try XCTUnwrap(catalog.manifest(named: "netbench"))
    XCTAssertEqual(netbench.filters, 64)
    XCTAssertEqual(netbench.network?.label, "mac 02:00:00:00:01:40 ip 10.0.2.140")
  }

  // MARK: the ring slot's cost word

  func testSlotHeaderHoldsLengthThenCostBeforeTheFrame() {
    XCTAssertEqual(NetRing.slotHeader, 16)
    XCTAssertEqual(NetRing.slotLength, 0)
    XCTAssertEqual(NetRing.slotCost, 8)
    // Two aligned words, apart, both inside the header, so the frame never overwrites them.
    XCTAssertEqual(NetRing.slotLength % 8, 0)
    XCTAssertEqual(NetRing.slotCost % 8, 0)
    XCTAssertGreaterThanOrEqual(NetRing.slotCost - NetRing.slotLength, 8)
    XCTAssertLessThanOrEqual(NetRing.slotCost + 8, NetRing.slotHeader)
    XCTAssertGreaterThanOrEqual(NetRing.slotSize - NetRing.slotHeader, PacketFilter.maxFrameLength)
    // The kernel and the runtime name the words, not the numbers.
    for (file, words) in [
      ("exo/Network.swift", ["NetRing.slotCost"]),
      ("libos-net/runtime/KernelNIC.swift", ["NetRing.slotCost", "NetRing.slotLength"]),
    ] {
      let text = (try? String(contentsOf: packageFile(file), encoding: .utf8)) ?? ""
      for word in words { XCTAssertTrue(text.contains(word), "\(file) does not use \(word)") }
    }
  }

  // MARK: netbench's line

  let f2JSON =
    #"{"bench": "netbench", "accel": "icount", "unit": "instructions", "results": {"kernel_rx_frame_2filters": {"median": 590, "p99": 604}, "libos_udp_echo": {"median": 5186, "p99": 5978}}}"#
  let f64JSON =
    #"{"bench": "netbench", "accel": "icount", "unit": "instructions", "results": {"kernel_rx_frame_64filters": {"median": 602, "p99": 602}, "libos_udp_echo": {"median": 5190, "p99": 5990}}}"#

  func testReadsNetbenchsLineAndNothingElse() throws {
    let line = try XCTUnwrap(BenchLine(consoleLine: "[netbench:1] " + f64JSON, bench: "netbench"))
    XCTAssertEqual(line.bench, "netbench")
    XCTAssertEqual(line.accel, "icount")
    XCTAssertEqual(line.metrics.map(\.name), ["kernel_rx_frame_64filters", "libos_udp_echo"])
    XCTAssertEqual(line.metric("kernel_rx_frame_64filters")?.median, 602)
    XCTAssertNil(BenchLine(consoleLine: "[netbench:1] " + f64JSON))  // read as vmbench's
    XCTAssertNil(BenchLine(consoleLine: "[vmbench:1] " + f64JSON, bench: "netbench"))
    XCTAssertNil(BenchLine(consoleLine: "[netbench:1] netbench: echoed 5 datagrams", bench: "netbench"))
    XCTAssertNil(BenchLine(json: String(f64JSON.dropLast(3)), bench: "netbench"))  // cut off
    XCTAssertNil(
      BenchLine(
        json: #"{"bench": "netbench", "accel": "icount", "unit": "instructions", "results": {"a": {"median": -5, "p99": 1}}}"#,
        bench: "netbench"))
    let lines = ["[exo] env netbench:1 started", "[netbench:1] " + f2JSON, "[netbench:1] " + f64JSON, "[exo] all envs exited"]
    XCTAssertEqual(BenchLine.find(in: lines, bench: "netbench")?.json, f64JSON)
    XCTAssertNil(BenchLine.find(in: lines))
  }

  // MARK: the report

  func result(kvm: Bool = true) -> NetBenchResult {
    var tcg = HostNetRun(accel: .tcg)
    tcg.figures = [
      NetFigure(metric: "udp_echo_rtt", unit: "us", median: 123.45, p99: 456.7, how: "1000 round trips, 0 lost"),
      NetFigure(metric: "tcp_echo_bulk", unit: "MB/s", median: 12.34, p99: 8.9, how: "16 MB"),
      NetFigure(metric: "httpd_small_file", unit: "requests/s", median: 1234.4, p99: 1100, how: "wrk | 8 connections"),
    ]
    var runs = [tcg]
    if kvm { runs.append(HostNetRun(accel: .kvm, figures: [tcg.figures[0]], failures: ["httpd: never listened"])) }
    return NetBenchResult(
      date: Date(timeIntervalSince1970: 0), options: NetBenchOptions(),
      icount: [BenchLine(json: f2JSON, bench: "netbench")!, BenchLine(json: f64JSON, bench: "netbench")!],
      host: runs, kvmSkipped: kvm ? nil : "no /dev/kvm", qemuLines: ["qemu-system-x86_64 -accel tcg"])
  }

  func testEveryJSONLineHasTheBenchShapeAndNetbenchsComeLast() throws {
    let lines = NetBenchReport.jsonLines(result())
    XCTAssertEqual(lines.count, 3 + 1 + 2)
    XCTAssertEqual(lines.last, f64JSON)
    for line in lines {
      let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], line)
      XCTAssertNotNil(object["bench"] as? String, line)
      XCTAssertTrue(["icount", "tcg", "kvm"].contains(object["accel"] as? String ?? ""), line)
      XCTAssertNotNil(object["unit"] as? String, line)
      let results = try XCTUnwrap(object["results"] as? [String: [String: Any]], line)
      XCTAssertFalse(results.isEmpty, line)
      for (_, figures) in results {
        XCTAssertNotNil(figures["median"] as? NSNumber, line)
        XCTAssertNotNil(figures["p99"] as? NSNumber, line)
      }
    }
    XCTAssertEqual(
      lines[0], #"{"bench": "net", "accel": "tcg", "unit": "us", "results": {"udp_echo_rtt": {"median": 123, "p99": 457}}}"#)
    XCTAssertEqual(
      lines[1], #"{"bench": "net", "accel": "tcg", "unit": "MB/s", "results": {"tcp_echo_bulk": {"median": 12.3, "p99": 8.9}}}"#)
    XCTAssertTrue(lines[3].contains(#""accel": "kvm""#))
  }

  func testTableAndPageShowEveryFigureFailureAndSkip() {
    let table = NetBenchReport.table(result()).joined(separator: "\n")
    for text in ["kernel_rx_frame_2filters", "kernel_rx_frame_64filters", "5186", "udp_echo_rtt", "1234", "wrk | 8",
      "httpd: never listened"]
    {
      XCTAssertTrue(table.contains(text), "table lacks \(text):\n\(table)")
    }
    let skipped = NetBenchReport.table(result(kvm: false)).joined(separator: "\n")
    XCTAssertTrue(skipped.contains("kvm: skipped: no /dev/kvm"), skipped)
    let page = NetBenchReport.markdown(result(kvm: false))
    XCTAssertTrue(page.hasPrefix("# Network evaluation\n"), page)
    XCTAssertTrue(page.contains("| `kernel_rx_frame_64filters` | 64 | 602 | 602 |"), page)
    XCTAssertTrue(page.contains("| `kernel_rx_frame_2filters` | 2 | 590 | 604 |"), page)
    XCTAssertTrue(page.contains("wrk / 8 connections"), "a | in a cell must not split the markdown row")
    XCTAssertTrue(page.contains("KVM: skipped: no /dev/kvm."), page)
    XCTAssertTrue(page.contains(f64JSON), page)
  }

  func testRatesTakeTheSlowTailAsP99() {
    let rate = NetBenchmark.rates([0.1, 0.1, 0.2, 0.1, 0.5], per: 1)
    XCTAssertEqual(rate.median, 10, accuracy: 1e-9)
    XCTAssertEqual(rate.p99, 2, accuracy: 1e-9)
    XCTAssertEqual(NetBenchmark.rates([], per: 1).median, 0)
  }

  func testReadsTheLoadGeneratorsRates() {
    let wrk = "Running 5s test @ http://127.0.0.1:8080/hello.txt\n  Latency     2.1ms\nRequests/sec:   1523.47\nTransfer/sec:  300KB\n"
    XCTAssertEqual(NetBenchClient.number(after: "Requests/sec:", in: wrk), 1523.47)
    let ab = "Complete requests:      5000\nRequests per second:    987.65 [#/sec] (mean)\n"
    XCTAssertEqual(NetBenchClient.number(after: "Requests per second:", in: ab), 987.65)
    XCTAssertNil(NetBenchClient.number(after: "Requests/sec:", in: "wrk: connection refused"))
    XCTAssertNil(NetBenchClient.number(after: "Requests/sec:", in: "Requests/sec: nan"))
  }

  // MARK: arguments

  func testBenchNetArguments() throws {
    XCTAssertEqual(try NetBenchOptions.parse([]), NetBenchOptions())
    let options = try NetBenchOptions.parse(["--datagrams", "500", "--megabytes=4", "--no-kvm", "--http-seconds", "2"])
    XCTAssertEqual(options.datagrams, 500)
    XCTAssertEqual(options.megabytes, 4)
    XCTAssertEqual(options.httpSeconds, 2)
    XCTAssertFalse(options.kvm)
    XCTAssertEqual(try NetBenchOptions.parse(["--icount-datagrams=10"]).icountDatagrams, 10)
  }

  func testBadBenchNetArgumentsAreUsageErrors() {
    let bad: [[String]] = [
      ["--datagrams"], ["--datagrams", "0"], ["--datagrams", "x"], ["--datagrams=-5"], ["--datagrams", "100001"],
      ["--megabytes", "0"], ["--megabytes", "99999999999999999999"], ["--http-seconds", "1.5"], ["--no-kvm=1"],
      ["--frobnicate"], ["boot"], ["--runs", "3"], ["--icount-datagrams", "5"],
    ]
    for arguments in bad {
      XCTAssertThrowsError(try NetBenchOptions.parse(arguments), "\(arguments)") { error in
        let failure = error as? ExoFailure
        XCTAssertEqual(failure?.exitStatus, ExitStatus.usage, "\(arguments)")
        XCTAssertEqual(failure?.showsUsage, true, "\(arguments)")
      }
    }
    XCTAssertThrowsError(try BenchCommand.parse(["nett"])) { error in
      XCTAssertTrue("\(error)".contains("boot, vm, net"), "\(error)")
    }
    XCTAssertTrue(ExoCLI.usage.contains("exo bench net"))
  }

  private func packageFile(_ path: String) -> URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent(path)
  }
}
