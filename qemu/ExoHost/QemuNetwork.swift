// The guest's network card and what it is plugged into: one virtio-net NIC on
// QEMU's user network (with the boot's port forwards), and for hostile-frame
// tests a raw-frame UDP link joined to the same hub.

public struct QemuNetwork: Sendable, Equatable {
  public var forwards: [PortForward]
  public var injection: FrameInjection?
  /// A pcap file of every frame the NIC sends and receives (QEMU's filter-dump), for debugging and tests.
  public var pcapPath: String?

  public init(forwards: [PortForward] = [], injection: FrameInjection? = nil, pcapPath: String? = nil) {
    self.forwards = forwards
    self.injection = injection
    self.pcapPath = pcapPath
  }

  /// The NIC's netdev: the user network itself, or the NIC's port on the hub.
  public static let nicNetdev = "net0"

  public func arguments() throws -> [String] {
    let user =
      ["user", "id=\(injection == nil ? Self.nicNetdev : "user0")", "net=\(UserNetwork.net)"]
      + forwards.map(\.hostfwd)
    var arguments = ["-netdev", user.joined(separator: ",")]
    if let injection {
      // QEMU 7.2's dgram backend needs a remote address beside its local one;
      // the remote is where the hub's frames are copied. A hub repeats each
      // frame to every other port, so slirp, the injector and the NIC all see
      // each other's frames.
      arguments += [
        "-netdev",
        "dgram,id=inject0,local.type=inet,local.host=127.0.0.1,local.port=\(injection.framesIn),"
          + "remote.type=inet,remote.host=127.0.0.1,remote.port=\(injection.framesOut)",
        "-netdev", "hubport,id=hub0user,hubid=0,netdev=user0",
        "-netdev", "hubport,id=hub0inject,hubid=0,netdev=inject0",
        "-netdev", "hubport,id=\(Self.nicNetdev),hubid=0",
      ]
    }
    // The legacy interface only (virtio 0.9.5, device 1af4:1000 with its
    // registers in BAR0's I/O ports): the kernel's driver speaks it, and
    // without disable-modern=on QEMU 7.2 offers a transitional device whose
    // modern MMIO interface a guest could pick up instead.
    arguments += ["-device", "virtio-net-pci,netdev=\(Self.nicNetdev),disable-modern=on"]
    if let pcapPath {
      // QEMU splits its option strings at commas.
      guard !pcapPath.isEmpty, !pcapPath.contains(",") else {
        throw ExoFailure("pcap path '\(pcapPath)' must not be empty or contain commas", exitStatus: ExitStatus.usage)
      }
      arguments += ["-object", "filter-dump,id=dump0,netdev=\(Self.nicNetdev),file=\(pcapPath)"]
    }
    return arguments
  }
}
