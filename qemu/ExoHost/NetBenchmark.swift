// `exo bench net`: the network figures. Inside the guest under icount,
// netbench's kernel receive cost per frame (with 2 and with 64 filters bound)
// and its libOS echo path; from the host under TCG and KVM, UDP echo round
// trips through udp-echo, a TCP bulk stream through tcp-echo, and httpd's
// requests per second for a small file.
import Foundation

public struct NetBenchOptions: Sendable, Equatable {
  /// Timed UDP round trips per accelerator (after `warmUp` untimed ones).
  public var datagrams = 1000
  /// Datagrams netbench times in each icount boot.
  public var icountDatagrams = 300
  /// The TCP stream's size.
  public var megabytes = 16
  /// Seconds of each HTTP load run (three runs).
  public var httpSeconds = 5
  /// false: TCG only (`--no-kvm`).
  public var kvm = true

  public static let warmUp = 50
  public static let usage =
    "bench net [--datagrams N] [--icount-datagrams N] [--megabytes N] [--http-seconds N] [--no-kvm]"

  public init() {}

  /// `arguments` follow the word `net`.
  public static func parse(_ arguments: [String]) throws -> NetBenchOptions {
    var options = NetBenchOptions()
    var remaining = arguments[...]
    while let argument = remaining.popFirst() {
      let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
      if parts[0] == "--no-kvm" && parts.count == 1 {
        options.kvm = false
        continue
      }
      let ranges: [String: ClosedRange<Int>] = [
        "--datagrams": 10...100_000, "--icount-datagrams": 10...10_000, "--megabytes": 1...1024, "--http-seconds": 1...120,
      ]
      guard let range = ranges[parts[0]] else {
        throw ExoFailure.usage("unknown option '\(argument)' for \(usage)")
      }
      guard let text = parts.count > 1 ? parts[1] : remaining.popFirst(), let value = Int(text), range.contains(value)
      else {
        throw ExoFailure.usage("\(parts[0]) needs a whole number in \(range.lowerBound)...\(range.upperBound)")
      }
      switch parts[0] {
      case "--datagrams": options.datagrams = value
      case "--icount-datagrams": options.icountDatagrams = value
      case "--megabytes": options.megabytes = value
      default: options.httpSeconds = value
      }
    }
    return options
  }
}

/// One host-side figure: its median and p99 (for a rate, the slow tail: see `NetBenchReport`).
public struct NetFigure: Sendable, Equatable {
  public let metric: String
  public let unit: String
  public let median: Double
  public let p99: Double
  /// How it was measured (`1000 datagrams, 0 lost`, `wrk, 8 connections`).
  public let how: String

  public init(metric: String, unit: String, median: Double, p99: Double, how: String) {
    self.metric = metric
    self.unit = unit
    self.median = median
    self.p99 = p99
    self.how = how
  }
}

/// The host-side figures of one accelerator, and what could not be measured.
public struct HostNetRun: Sendable, Equatable {
  public let accel: Accel
  public var figures: [NetFigure] = []
  public var failures: [String] = []

  public init(accel: Accel, figures: [NetFigure] = [], failures: [String] = []) {
    self.accel = accel
    self.figures = figures
    self.failures = failures
  }
}

public struct NetBenchResult: Sendable {
  public let date: Date
  public let options: NetBenchOptions
  /// netbench's lines under icount: 2 filters bound, then 64.
  public let icount: [BenchLine]
  public let host: [HostNetRun]
  /// Why KVM was not measured, if it was not.
  public let kvmSkipped: String?
  /// Each boot's QEMU command line, in the order they ran.
  public let qemuLines: [String]

  public init(
    date: Date, options: NetBenchOptions, icount: [BenchLine], host: [HostNetRun], kvmSkipped: String?,
    qemuLines: [String]
  ) {
    self.date = date
    self.options = options
    self.icount = icount
    self.host = host
    self.kvmSkipped = kvmSkipped
    self.qemuLines = qemuLines
  }
}

public enum NetBenchmark {
  public static let app = "netbench"
  public static let apps = [app, "udp-echo", "tcp-echo", "httpd"]
  /// Seconds the TCP servers wait without a connection before they exit.
  static let serverIdle = 5
  static let httpConnections = 8
  static let httpFile = "/hello.txt"

  /// `exo bench net` (`arguments` follow the word `net`).
  public static func command(_ arguments: [String], root: URL) throws -> Int32 {
    let options = try NetBenchOptions.parse(arguments)
    let result = try run(root: root, options: options)
    for line in NetBenchReport.table(result) { Output.line(line) }
    try NetBenchReport.write(result, root: root)
    Output.error("exo: wrote \(NetBenchReport.paper)")
    return ExitStatus.ok
  }

  public static func run(root: URL, options: NetBenchOptions, progress: (String) -> Void = Output.error) throws
    -> NetBenchResult
  {
    let catalog = try AppCatalog.load(root: root)
    for name in apps where catalog.manifest(named: name) == nil {
      throw ExoFailure("bench net needs the app '\(name)', which is not in apps/", exitStatus: ExitStatus.config)
    }
    let qemu = try QemuInstaller.ensure(say: progress)
    let builder = ImageBuilder(root: root, toolchain: try Toolchain.find())
    func plan(_ name: String, _ arg: String?, _ accel: Accel, _ transport: TransportProtocol, _ guestPort: Int) throws
      -> BootPlan
    {
      let forward = ForwardRequest(transport, hostPort: try freePort(transport), guestPort: guestPort)
      return try BootPlan(
        root: root, catalog: catalog, apps: [AppChoice(name: name, arg: arg)], accel: accel,
        network: NetworkOptions(forwards: [forward]))
    }
    progress("exo: bench net: building the kernel and \(apps.joined(separator: ", "))")
    try builder.compile(apps: apps)
    var qemuLines: [String] = []
    func start(_ plan: BootPlan, timeout: Double) throws -> NetBenchBoot {
      try builder.link(plan.modules)
      let line = try plan.machine.commandLine()
      qemuLines.append(line)
      progress("exo: bench net: booting \(plan.appLabels) under \(plan.machine.accel.displayName) (\(line))")
      return NetBenchBoot(plan, qemu: qemu, timeout: timeout)
    }

    var icount: [BenchLine] = []
    for filters in [2, 64] {
      let boot = try start(try plan(app, "icount-f\(filters)", .icount, .udp, 7), timeout: 600)
      icount.append(try netbench(boot, datagrams: options.icountDatagrams, progress: progress))
    }

    var host: [HostNetRun] = []
    var kvmSkipped: String?
    for accel in [Accel.tcg, .kvm] {
      if accel == .kvm {
        if !options.kvm { kvmSkipped = "--no-kvm" } else { kvmSkipped = VMBenchmark.kvmUnavailable() }
        if let why = kvmSkipped {
          progress("exo: bench net: skipping KVM: \(why)")
          break
        }
        progress("exo: bench net: KVM here is a nested software hypervisor that emulates all ring-0 code: slow boots")
      }
      var run = HostNetRun(accel: accel)
      // Each part has its own boot, so one that fails leaves the others measured.
      let timeout = accel == .kvm ? 240.0 : 180.0
      do {
        let boot = try start(try plan("udp-echo", nil, accel, .udp, 7), timeout: timeout)
        run.figures.append(try udpEcho(boot, options: options, progress: progress))
      } catch { run.failures.append("udp-echo: \(error)") }
      do {
        let boot = try start(try plan("tcp-echo", "\(serverIdle)", accel, .tcp, 7), timeout: timeout)
        run.figures.append(try tcpEcho(boot, options: options, progress: progress))
      } catch { run.failures.append("tcp-echo: \(error)") }
      do {
        let boot = try start(try plan("httpd", "\(serverIdle)", accel, .tcp, 80), timeout: timeout)
        run.figures.append(try httpd(boot, options: options, progress: progress))
      } catch { run.failures.append("httpd: \(error)") }
      for failure in run.failures { progress("exo: bench net: \(accel.displayName): \(failure)") }
      host.append(run)
    }
    return NetBenchResult(
      date: Date(), options: options, icount: icount, host: host, kvmSkipped: kvmSkipped, qemuLines: qemuLines)
  }

  /// Waits for `boot`'s app to listen (two generous minutes: KVM boots
  /// slowly here), then gives the host port forwarded to `guestPort`.
  static func listening(_ boot: NetBenchBoot, _ name: String, _ guestPort: Int, _ transport: TransportProtocol) throws
    -> Int
  {
    guard boot.waitForLine(containing: "[\(name):1] listening on", timeout: 120) != nil else {
      let result = boot.finish(timeout: 5)
      let why = (try? result.get()).map { $0.verdict.reason } ?? "\(result)"
      throw NetBenchClient.Failure("\(name) never said it was listening (\(why))")
    }
    guard let port = boot.hostPort(guestPort, transport) else {
      throw NetBenchClient.Failure("no forward to \(name)'s port \(guestPort)")
    }
    return port
  }

  /// After the clients: the boot must end by itself with every env exiting 0.
  static func ended(_ boot: NetBenchBoot, _ name: String) throws -> BootResult {
    let result = try boot.finish(timeout: 60).get()
    guard result.verdict.isGood, result.verdict.exitStatus == ExitStatus.ok else {
      throw NetBenchClient.Failure("\(name)'s boot did not end well: \(result.verdict.reason)")
    }
    return result
  }

  static func netbench(_ boot: NetBenchBoot, datagrams: Int, progress: (String) -> Void) throws -> BenchLine {
    let port = try listening(boot, app, 7, .udp)
    // Under icount the guest is slow to answer the first datagram (slirp ARPs first): a long timeout.
    let (samples, lost) = try NetBenchClient.udpRoundTrips(port: port, count: datagrams, warmUp: 5, timeout: 10)
    try NetBenchClient.udpSend(port: port, Array("quit".utf8))
    let result = try ended(boot, app)
    guard let line = BenchLine.find(in: result.lines, bench: app) else {
      throw ExoFailure("bench net: netbench printed no JSON line", exitStatus: ExitStatus.software)
    }
    progress(
      "exo: bench net: netbench \(boot.plan.modules[0].arg ?? ""): \(samples.count) echoes, \(lost) lost; \(line.json)")
    return line
  }

  static func udpEcho(_ boot: NetBenchBoot, options: NetBenchOptions, progress: (String) -> Void) throws -> NetFigure {
    let port = try listening(boot, "udp-echo", 7, .udp)
    let (samples, lost) = try NetBenchClient.udpRoundTrips(
      port: port, count: options.datagrams, warmUp: NetBenchOptions.warmUp)
    try NetBenchClient.udpSend(port: port, Array("quit".utf8))
    _ = try ended(boot, "udp-echo")
    guard let stats = BenchStatistics(samples) else { throw NetBenchClient.Failure("every datagram was lost") }
    let figure = NetFigure(
      metric: "udp_echo_rtt", unit: "us", median: stats.median, p99: stats.p99,
      how: "\(samples.count) round trips of 64-byte datagrams after \(NetBenchOptions.warmUp) untimed, \(lost) lost")
    progress("exo: bench net: udp-echo round trip median \(format(stats.median)) us, p99 \(format(stats.p99)) us")
    return figure
  }

  static func tcpEcho(_ boot: NetBenchBoot, options: NetBenchOptions, progress: (String) -> Void) throws -> NetFigure {
    let port = try listening(boot, "tcp-echo", 7, .tcp)
    let bytes = options.megabytes * 1_000_000
    let (chunks, total) = try NetBenchClient.tcpBulk(port: port, bytes: bytes, chunk: 1_000_000, timeout: 60)
    _ = try ended(boot, "tcp-echo")
    let overall = format(Double(bytes) / 1e6 / total)
    return rateFigure(
      "tcp_echo_bulk", "MB/s", seconds: chunks,
      how: "\(options.megabytes) MB echoed and checked in \(format(total)) s (\(overall) MB/s overall); per-MB samples",
      progress: progress)
  }

  static func httpd(_ boot: NetBenchBoot, options: NetBenchOptions, progress: (String) -> Void) throws -> NetFigure {
    let port = try listening(boot, "httpd", 80, .tcp)
    var samples: [Double] = []
    var client = NetBenchClient.HTTPClient.builtIn
    for _ in 0..<3 {
      let (rate, used) = try NetBenchClient.httpRate(
        url: "http://127.0.0.1:\(port)\(httpFile)", connections: httpConnections, duration: options.httpSeconds)
      samples.append(rate)
      client = used
    }
    _ = try ended(boot, "httpd")
    return rateFigure(
      "httpd_small_file", "requests/s", seconds: samples.map { 1 / $0 },
      how: "\(client.rawValue), \(httpConnections) keep-alive connections, GET \(httpFile) (25 bytes), "
        + "3 runs of \(options.httpSeconds) s", progress: progress)
  }

  /// A rate figure from the seconds each unit (a MB, a request) took, said as it is made.
  static func rateFigure(
    _ metric: String, _ unit: String, seconds: [Double], how: String, progress: (String) -> Void
  ) -> NetFigure {
    let rate = rates(seconds, per: 1)
    progress("exo: bench net: \(metric) \(format(rate.median)) \(unit) (\(how))")
    return NetFigure(metric: metric, unit: unit, median: rate.median, p99: rate.p99, how: how)
  }

  /// Rates from the time each unit took: the median rate, and as "p99" the
  /// rate at the 99th percentile of the times (the slow tail).
  static func rates(_ seconds: [Double], per units: Double) -> (median: Double, p99: Double) {
    guard let stats = BenchStatistics(seconds), stats.median > 0, stats.p99 > 0 else { return (0, 0) }
    return (units / stats.median, units / stats.p99)
  }

  static func format(_ value: Double) -> String { String(format: "%.1f", value) }

  /// A port on 127.0.0.1 that was free a moment ago.
  static func freePort(_ transport: TransportProtocol) throws -> Int {
    let fd = socket(AF_INET, Int32((transport == .udp ? SOCK_DGRAM : SOCK_STREAM).rawValue), 0)
    guard fd >= 0 else { throw ExoFailure("socket() failed: errno \(errno)", exitStatus: ExitStatus.software) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw ExoFailure("no free port: errno \(errno)", exitStatus: ExitStatus.software) }
    return Int(UInt16(bigEndian: address.sin_port))
  }
}
