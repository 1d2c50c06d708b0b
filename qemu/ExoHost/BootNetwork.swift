// A boot's network: each networked module's final MAC and address (an app
// booted more than once gets derived ones for its later instances), refused
// when two modules would share either, then the NIC, forwards and injection
// link QEMU gets, and the header lines that say all of it before the boot.

/// What `exo boot` asks of the network beyond the manifests.
public struct NetworkOptions: Sendable, Equatable {
  public var forwards: [ForwardRequest]
  public var injection: FrameInjection?
  public var pcapPath: String?

  public init(forwards: [ForwardRequest] = [], injection: FrameInjection? = nil, pcapPath: String? = nil) {
    self.forwards = forwards
    self.injection = injection
    self.pcapPath = pcapPath
  }
}

public enum BootNetwork {
  /// Each manifest's network, in slot order. The nth repeat of a networked
  /// app (n ≥ 1) gets its manifest's MAC and address plus n in their last
  /// byte, so `exo boot udp-echo udp-echo` runs two envs a client can tell
  /// apart. Two modules with the same MAC or address are refused: from two
  /// manifests that is a bad manifest (78), through a derived one a boot that
  /// asks for too many instances (64).
  public static func identities(for manifests: [AppManifest]) throws -> [AppNetwork?] {
    var networks: [AppNetwork?] = []
    var repeats: [Int] = []
    for (slot, manifest) in manifests.enumerated() {
      guard let base = manifest.network else {
        networks.append(nil)
        repeats.append(0)
        continue
      }
      let n = manifests[..<slot].filter { $0.name == manifest.name }.count
      let what = describe(manifest.name, slot: slot, repeat: n)
      guard let network = base.repeated(n) else {
        throw ExoFailure(
          "\(what) would need a mac or ip past its last byte's 255; boot fewer instances", exitStatus: ExitStatus.usage)
      }
      if n > 0, let ip = network.ip, let refusal = UserNetwork.refusal(of: ip) {
        throw ExoFailure("\(what) would get ip \(refusal); boot fewer instances", exitStatus: ExitStatus.usage)
      }
      for (earlierSlot, earlier) in networks.enumerated() {
        guard let earlier else { continue }
        let clash: String
        if earlier.mac == network.mac {
          clash = "mac \(AppNetwork.text(mac: network.mac))"
        } else if let ip = network.ip, earlier.ip == ip {
          clash = "ip \(AppNetwork.text(ip: ip))"
        } else {
          continue
        }
        let other = describe(manifests[earlierSlot].name, slot: earlierSlot, repeat: repeats[earlierSlot])
        let derived = n > 0 || repeats[earlierSlot] > 0
        throw ExoFailure(
          "\(other) and \(what) both have \(clash); each networked app in a boot needs its own mac and ip",
          exitStatus: derived ? ExitStatus.usage : ExitStatus.config)
      }
      networks.append(network)
      repeats.append(n)
    }
    return networks
  }

  /// The boot's NIC, or nil when no module has a MAC. Forwards and an
  /// injection link need a NIC, and no two of them may take one UDP host port.
  public static func qemu(for modules: [BootModule], options: NetworkOptions) throws -> QemuNetwork? {
    let forwards = try PortForward.resolve(options.forwards, modules: modules)
    guard modules.contains(where: { $0.network != nil }) else {
      if options.injection != nil || options.pcapPath != nil {
        throw ExoFailure(
          "\(options.injection != nil ? "--inject" : "a pcap of the NIC") needs a networked app "
            + "(one whose app.manifest has a mac): without one the guest has no NIC", exitStatus: ExitStatus.usage)
      }
      return nil
    }
    if let injection = options.injection {
      for port in [injection.framesIn, injection.framesOut] {
        if let forward = forwards.first(where: { $0.transport == .udp && $0.hostPort == port }) {
          throw ExoFailure(
            "--inject's port \(port) is also forwarded to \(forward.app) (udp); pick another",
            exitStatus: ExitStatus.usage)
        }
      }
    }
    return QemuNetwork(forwards: forwards, injection: options.injection, pcapPath: options.pcapPath)
  }

  /// `exo: network: ...`, `exo: forwarding ...`, `exo: injecting ...`: said before the boot.
  public static func headerLines(modules: [BootModule], network: QemuNetwork?) -> [String] {
    var lines: [String] = []
    for module in modules {
      guard let identity = module.network else { continue }
      let n = modules.filter { $0.slot < module.slot && $0.manifest.name == module.manifest.name }.count
      var line = "exo: network: \(module.manifest.name) in slot \(module.slot): \(identity.label)"
      if n > 0 { line += " (instance \(n + 1): its manifest's + \(n))" }
      lines.append(line)
    }
    for forward in network?.forwards ?? [] { lines.append("exo: forwarding \(forward.label)") }
    if let injection = network?.injection { lines.append("exo: injecting: \(injection.label)") }
    if let pcap = network?.pcapPath { lines.append("exo: the NIC's frames are written to \(pcap)") }
    return lines
  }

  static func describe(_ name: String, slot: Int, repeat n: Int) -> String {
    n == 0
      ? "\(name) in slot \(slot) (apps/\(name)/app.manifest)"
      : "\(name) in slot \(slot) (instance \(n + 1): its manifest's + \(n))"
  }
}
