// One app in one boot slot: which image file QEMU loads as a Multiboot
// module and the command line that hands the kernel its boot configuration.
import SecureBindings

public struct BootModule: Sendable, Equatable {
  public let manifest: AppManifest
  public let arg: String?
  /// 0-based position in the boot; each slot has its own link address.
  public let slot: Int
  /// `APP@SLICES` in place of the manifest's allowance.
  public let slices: UInt64?
  /// The manifest's MAC and address, or for a repeated app's later instance derived ones (BootNetwork).
  public let network: AppNetwork?
  /// `held=1`: the env waits for `env_start`.
  public let held: Bool

  /// `network` nil takes the manifest's.
  public init(
    manifest: AppManifest, arg: String?, slot: Int, slices: UInt64? = nil, network: AppNetwork? = nil,
    held: Bool = false
  ) {
    self.manifest = manifest
    self.arg = arg
    self.slot = slot
    self.slices = slices
    self.network = network ?? manifest.network
    self.held = held
  }

  /// Relative to the package root.
  public var imagePath: String { BuildPlan.appImage(manifest.name, slot: slot) }

  public var commandLine: String {
    Self.commandLine(for: manifest, arg: arg, slices: slices, network: network) + (held ? " held=1" : "")
  }

  /// `name=NAME frames=N slices=N`, then ` arg=ARG` and ` mac=MAC ip=IP`
  /// (or ` mac=MAC dhcp=1`) with the manifest's ` filters=N`: what the kernel's BootConfig parses. `network`
  /// nil takes the manifest's.
  public static func commandLine(
    for manifest: AppManifest, arg: String?, slices: UInt64? = nil, network: AppNetwork? = nil
  ) -> String {
    var line = "name=\(manifest.name) frames=\(manifest.frames) slices=\(slices ?? UInt64(manifest.slices))"
    if let arg { line += " arg=\(arg)" }
    if let network = network ?? manifest.network {
      line += " " + network.commandLineKeys
      if let filters = manifest.filters { line += " filters=\(filters)" }
    }
    return line
  }

  /// The modules of a boot, in the order the user named the apps.
  public static func modules(for apps: [AppChoice], catalog: AppCatalog) throws -> [BootModule] {
    let manifests = try apps.map { app in
      guard let manifest = catalog.manifest(named: app.name) else {
        throw ExoFailure(
          "unknown app '\(app.name)'; the apps are: \(catalog.names.joined(separator: ", "))",
          exitStatus: ExitStatus.usage)
      }
      return manifest
    }
    let networks = try BootNetwork.identities(for: manifests)
    return try apps.enumerated().map { slot, app in
      let module = BootModule(
        manifest: manifests[slot], arg: app.arg, slot: slot, slices: app.slices, network: networks[slot],
        held: app.held)
      if let refusal = kernelRefusal(of: module.commandLine) {
        throw ExoFailure(
          "the kernel would refuse app \(app.label)'s command line '\(module.commandLine)': \(refusal)",
          exitStatus: ExitStatus.config)
      }
      return module
    }
  }

  /// Why the kernel's own parser refuses `commandLine`, or nil if it takes it.
  public static func kernelRefusal(of commandLine: String) -> String? {
    Array(commandLine.utf8).withUnsafeBytes { bytes -> String? in
      do throws(BootConfigError) {
        _ = try BootConfig.parse(bytes)
        return nil
      } catch {
        return String(describing: error.reason)
      }
    }
  }
}
