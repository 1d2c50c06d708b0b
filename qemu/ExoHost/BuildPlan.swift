// Every flag that builds and links the bare-metal images, in one place; paths
// are relative to the package root, where the tools run.
import Foundation

public enum BuildPlan {
  public static let triple = "x86_64-unknown-none-elf"
  /// EXO_SCRATCH=NAME gives a second checkout-free build its own folders
  /// (.build-images-NAME, ...), so two image builds can run side by side.
  static let scratchSuffix: String = {
    guard let name = ProcessInfo.processInfo.environment["EXO_SCRATCH"], !name.isEmpty,
      name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" })
    else { return "" }
    return "-" + name
  }()
  public static let imagesFolder = ".build-images" + scratchSuffix
  public static let kernelScratch = ".build-kernel" + scratchSuffix
  public static let userScratch = ".build-user" + scratchSuffix
  public static let kernelImage = "\(imagesFolder)/kernel.elf"
  public static let kernelLinkerScript = "exo/arch/x86_64/asm/kernel.ld"
  public static let appLinkerScript = "libos-posix/arch/x86_64/app.ld"

  /// App slot i is linked at 0x400000 + i * 64 MiB, so that gdb can load the
  /// symbols of every app in a boot at once.
  public static func appBase(slot: Int) -> UInt64 { 0x40_0000 + UInt64(slot) * 0x400_0000 }

  // Embedded Swift for both sides; no stack protector (there is no
  // __stack_chk_guard on bare metal). -O rather than -Osize: the kernel's
  // paths are measured in instructions (-Osize cost prot100 four times as many).
  static let embeddedSwiftFlags = [
    "-enable-experimental-feature", "Embedded", "-wmo", "-O", "-Xfrontend", "-disable-stack-protector",
  ]
  // The kernel runs with interrupts off on one CPU: no access can overlap
  // another, so Swift's dynamic exclusivity checks only cost instructions.
  static let kernelSwiftFlags = embeddedSwiftFlags + ["-enforce-exclusivity=unchecked"]
  // The kernel is entered by interrupts (no red zone), linked in the top
  // 2 GiB (kernel code model), and never touches FP/SSE state, which belongs to envs.
  static let kernelClangFlags = ["-mno-red-zone", "-mcmodel=kernel", "-mno-sse", "-mno-mmx"]

  static func swiftBuild(product: String, scratch: String, swiftFlags: [String], clangFlags: [String]) -> [String] {
    var arguments = ["build", "--triple", triple, "-c", "release", "--product", product, "--scratch-path", scratch]
    // Clang flags go both to Swift's code generation (-Xswiftc -Xcc) and to C/assembly targets (-Xcc).
    for flag in swiftFlags + clangFlags.flatMap({ ["-Xcc", $0] }) { arguments += ["-Xswiftc", flag] }
    for flag in clangFlags { arguments += ["-Xcc", flag] }
    return arguments
  }

  static func link(script: String, extra: [String], library: String, output: String) -> [String] {
    ["-T", script, "-z", "max-page-size=4096", "--gc-sections"] + extra
      + ["--whole-archive", library, "-o", output]
  }

  // MARK: the kernel

  public static let kernelProduct = "exo-kernel"
  /// Arguments to `swift`.
  public static var kernelBuild: [String] {
    swiftBuild(
      product: kernelProduct, scratch: kernelScratch, swiftFlags: kernelSwiftFlags, clangFlags: kernelClangFlags)
  }
  public static let kernelLibrary = "\(kernelScratch)/\(triple)/release/libexo-kernel.a"
  /// Arguments to `ld.lld`.
  public static var kernelLink: [String] {
    link(script: kernelLinkerScript, extra: [], library: kernelLibrary, output: kernelImage)
  }

  // MARK: the apps

  public static func appProduct(_ name: String) -> String { "app-\(name)" }
  public static func appBuild(_ name: String) -> [String] {
    swiftBuild(product: appProduct(name), scratch: userScratch, swiftFlags: embeddedSwiftFlags, clangFlags: [])
  }
  public static func appLibrary(_ name: String) -> String { "\(userScratch)/\(triple)/release/libapp-\(name).a" }
  public static func appImage(_ name: String, slot: Int) -> String { "\(imagesFolder)/\(name)-\(slot).elf" }
  public static func appLink(_ name: String, slot: Int) -> [String] {
    link(
      script: appLinkerScript, extra: ["--defsym=__app_base=0x" + String(appBase(slot: slot), radix: 16)],
      library: appLibrary(name), output: appImage(name, slot: slot))
  }
}
