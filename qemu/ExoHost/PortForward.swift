// `exo boot --forward [udp:|tcp:][APP:]HOSTPORT:GUESTPORT`: a host port on
// 127.0.0.1 that QEMU's user network forwards to a networked app's static
// address. Parsed as typed first; turned into QEMU's hostfwd once the boot's
// apps and their addresses are known.

public enum TransportProtocol: String, Sendable, Equatable {
  case tcp, udp
}

/// One `--forward` as the user wrote it.
public struct ForwardRequest: Sendable, Equatable {
  public var transport: TransportProtocol
  /// The app's name as given on the command line; nil when the boot has exactly one networked app.
  public var app: String?
  public var hostPort: Int
  public var guestPort: Int

  public init(_ transport: TransportProtocol = .tcp, app: String? = nil, hostPort: Int, guestPort: Int) {
    self.transport = transport
    self.app = app
    self.hostPort = hostPort
    self.guestPort = guestPort
  }

  public static let ports = 1...65535

  /// `8080:80`, `httpd:8080:80`, `udp:5555:7`, `udp:udp-echo:5555:7`. A
  /// first part `tcp` or `udp` is the protocol, never an app's name.
  public static func parse(_ text: String) throws -> ForwardRequest {
    var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    var transport = TransportProtocol.tcp
    if let first = parts.first, let named = TransportProtocol(rawValue: first) {
      transport = named
      parts.removeFirst()
    }
    let form = "--forward takes [udp:][APP:]HOSTPORT:GUESTPORT"
    guard parts.count == 2 || parts.count == 3 else { throw ExoFailure.usage("\(form), not '\(text)'") }
    let app = parts.count == 3 ? parts[0] : nil
    if let app, !AppManifest.isValidName(app) {
      throw ExoFailure.usage("\(form); '\(app)' is no app name in '\(text)'")
    }
    func port(_ part: String, _ which: String) throws -> Int {
      guard part.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }), let number = Int(part),
        ports.contains(number)
      else {
        throw ExoFailure.usage("\(form); \(which) '\(part)' in '\(text)' is not a port in 1...65535")
      }
      return number
    }
    return ForwardRequest(
      transport, app: app, hostPort: try port(parts[parts.count - 2], "HOSTPORT"),
      guestPort: try port(parts[parts.count - 1], "GUESTPORT"))
  }
}

/// A forward resolved to the app's address: what QEMU's hostfwd gets and what the boot's header says.
public struct PortForward: Sendable, Equatable {
  public var transport: TransportProtocol
  public var hostPort: Int
  public var app: String
  public var guestIP: UInt32
  public var guestPort: Int

  public init(_ transport: TransportProtocol, hostPort: Int, app: String, guestIP: UInt32, guestPort: Int) {
    self.transport = transport
    self.hostPort = hostPort
    self.app = app
    self.guestIP = guestIP
    self.guestPort = guestPort
  }

  /// Only the loopback address: a forward never opens the guest to the host's network.
  public var hostfwd: String {
    "hostfwd=\(transport.rawValue):127.0.0.1:\(hostPort)-\(AppNetwork.text(ip: guestIP)):\(guestPort)"
  }

  /// `127.0.0.1:8080 -> httpd 10.0.2.100:80 (tcp)`
  public var label: String {
    "127.0.0.1:\(hostPort) -> \(app) \(AppNetwork.text(ip: guestIP)):\(guestPort) (\(transport.rawValue))"
  }

  /// Each request against the boot's modules (with their final addresses):
  /// an unknown app, an app without a static address, a missing APP where the
  /// boot has several networked apps, or a host port taken twice is a usage error (64).
  public static func resolve(_ requests: [ForwardRequest], modules: [BootModule]) throws -> [PortForward] {
    let networked = modules.filter { $0.network != nil }
    var forwards: [PortForward] = []
    for request in requests {
      let module: BootModule
      if let app = request.app {
        // The first instance when the app is booted more than once.
        guard let named = modules.first(where: { $0.manifest.name == app }) else {
          throw ExoFailure(
            "--forward names app '\(app)', which is not in this boot (\(modules.map(\.manifest.name).joined(separator: ", ")))",
            exitStatus: ExitStatus.usage)
        }
        module = named
      } else {
        guard networked.count == 1, let only = networked.first else {
          throw ExoFailure(
            networked.isEmpty
              ? "--forward needs a networked app (one whose app.manifest has a mac and an ip), and this boot has none"
              : "--forward \(request.hostPort):\(request.guestPort) must name its app (APP:HOSTPORT:GUESTPORT): "
                + "this boot has \(networked.count) networked apps",
            exitStatus: ExitStatus.usage)
        }
        module = only
      }
      let name = module.manifest.name
      guard let network = module.network else {
        throw ExoFailure(
          "--forward to \(name): the app has no network (no mac in apps/\(name)/app.manifest)",
          exitStatus: ExitStatus.usage
        )
      }
      guard let ip = network.ip else {
        throw ExoFailure(
          "--forward to \(name): the app has no static ip (\(network.address == .dhcp ? "it uses dhcp" : "only a mac")), "
            + "and QEMU fixes a forward's guest address when it starts", exitStatus: ExitStatus.usage)
      }
      if let taken = forwards.first(where: { $0.transport == request.transport && $0.hostPort == request.hostPort }) {
        throw ExoFailure(
          "--forward: host port \(request.transport.rawValue) \(request.hostPort) is forwarded twice "
            + "(already to \(taken.app) port \(taken.guestPort))", exitStatus: ExitStatus.usage)
      }
      forwards.append(
        PortForward(request.transport, hostPort: request.hostPort, app: name, guestIP: ip, guestPort: request.guestPort)
      )
    }
    return forwards
  }
}

/// `--inject IN:OUT`: a raw-frame link into the guest's network for hostile-frame
/// tests. Each UDP datagram sent to 127.0.0.1:IN is one Ethernet frame on the
/// guest's network; each frame on it is sent as a datagram to 127.0.0.1:OUT.
public struct FrameInjection: Sendable, Equatable {
  public var framesIn: Int
  public var framesOut: Int

  public init(framesIn: Int, framesOut: Int) {
    self.framesIn = framesIn
    self.framesOut = framesOut
  }

  public static func parse(_ text: String) throws -> FrameInjection {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    let form = "--inject takes INPORT:OUTPORT (UDP ports on 127.0.0.1, 1...65535, different)"
    guard parts.count == 2,
      parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }),
      let framesIn = Int(parts[0]), let framesOut = Int(parts[1]), ForwardRequest.ports.contains(framesIn),
      ForwardRequest.ports.contains(framesOut), framesIn != framesOut
    else { throw ExoFailure.usage("\(form), not '\(text)'") }
    return FrameInjection(framesIn: framesIn, framesOut: framesOut)
  }

  /// `frames sent to 127.0.0.1:IN reach the guest's network; its frames go to 127.0.0.1:OUT`
  public var label: String {
    "raw frames sent to 127.0.0.1:\(framesIn) (udp) join the guest's network; its frames are copied to 127.0.0.1:\(framesOut)"
  }
}
