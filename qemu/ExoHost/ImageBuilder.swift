// Builds the kernel image and the app images by running BuildPlan's commands,
// one `swift build` at a time.
import Foundation

public struct ImageBuilder: Sendable {
  public let root: URL
  public let toolchain: Toolchain

  public init(root: URL, toolchain: Toolchain) {
    self.root = root
    self.toolchain = toolchain
  }

  /// Compiles and links everything a boot needs: the kernel, each distinct
  /// app once, then each slot's image at its own address.
  public func build(_ modules: [BootModule]) throws {
    try compile(apps: modules.map(\.manifest.name))
    try link(modules)
  }

  /// The kernel image and the apps' static libraries; swift build is
  /// incremental, so running it every time costs little. One build at a time:
  /// they compile the same shared modules and would only fight over the CPU.
  public func compile(apps: [String]) throws {
    try buildKernel()
    var seen = Set<String>()
    for name in apps where seen.insert(name).inserted {
      try dropArchive(BuildPlan.appLibrary(name))
      try step("app \(name)", toolchain.swift, BuildPlan.appBuild(name))
    }
  }

  public func buildKernel() throws {
    try makeImagesFolder()
    try dropArchive(BuildPlan.kernelLibrary)
    try step("the kernel", toolchain.swift, BuildPlan.kernelBuild)
    try step("the kernel", toolchain.linker, BuildPlan.kernelLink)
  }

  /// Links each module's app library at its slot's base address.
  public func link(_ modules: [BootModule]) throws {
    try makeImagesFolder()
    for module in modules {
      try step(
        "app \(module.manifest.name)", toolchain.linker, BuildPlan.appLink(module.manifest.name, slot: module.slot))
    }
  }

  /// Absolute path of a file given relative to the package root.
  public func absolute(_ relativePath: String) -> URL { root.appendingPathComponent(relativePath) }

  /// SwiftPM updates a static library in place, so an object whose source
  /// file was deleted stays in it and clashes at link time: make it write the
  /// archive anew (the objects themselves stay, so this costs little).
  private func dropArchive(_ relativePath: String) throws {
    let url = absolute(relativePath)
    if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
  }

  private func makeImagesFolder() throws {
    try FileManager.default.createDirectory(
      at: absolute(BuildPlan.imagesFolder), withIntermediateDirectories: true)
  }

  private func step(_ what: String, _ tool: URL, _ arguments: [String]) throws {
    let result = try Subprocess.run(tool, arguments, in: root)
    guard result.succeeded else {
      let command = ([tool.lastPathComponent] + arguments).map(ShellQuote.quote).joined(separator: " ")
      throw ExoFailure(
        "build of \(what) failed", exitStatus: ExitStatus.build, detail: "$ \(command)\n\(result.output)")
    }
  }
}
