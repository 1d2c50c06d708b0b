// One app in one boot slot: which image file QEMU loads as a Multiboot
// module and the command line that hands the kernel its boot configuration.
import SecureBindings

public struct BootModule: Sendable, Equatable {
  public let manifest: AppManifest
  public let arg: String?
  /// 0-based position in the boot; each slot has its own link address.
  public let slot: Int

  public init(manifest: AppManifest, arg: String?, slot: Int) {
    self.manifest = manifest
    self.arg = arg
    self.slot = slot
  }

  /// Relative to the package root.
  public var imagePath: String { BuildPlan.appImage(manifest.name, slot: slot) }

  public var commandLine: String { Self.commandLine(for: manifest, arg: arg) }

  /// `name=NAME frames=N slices=N` plus ` arg=ARG`: what the kernel's BootConfig parses.
  public static func commandLine(for manifest: AppManifest, arg: String?) -> String {
    var line = "name=\(manifest.name) frames=\(manifest.frames) slices=\(manifest.slices)"
    if let arg { line += " arg=\(arg)" }
    return line
  }

  /// The modules of a boot, in the order the user named the apps.
  public static func modules(for apps: [AppChoice], catalog: AppCatalog) throws -> [BootModule] {
    try apps.enumerated().map { slot, app in
      guard let manifest = catalog.manifest(named: app.name) else {
        throw ExoFailure(
          "unknown app '\(app.name)'; the apps are: \(catalog.names.joined(separator: ", "))",
          exitStatus: ExitStatus.usage)
      }
      let module = BootModule(manifest: manifest, arg: app.arg, slot: slot)
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
