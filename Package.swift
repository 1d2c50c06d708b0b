// swift-tools-version:6.0
// The one manifest: host targets (the `exo` command, its library, the tests)
// and bare-metal targets (the kernel, the user runtime, the app images).
// `swift build`/`swift test` build every target for the host; the `exo`
// command builds the bare-metal products again with `--triple
// x86_64-unknown-none-elf` in Embedded mode (see qemu/ExoHost/BuildPlan.swift).
import PackageDescription

// One line per app image (apps/NAME with an app.manifest): target `App_NAME`,
// static-library product `app-NAME`. A host test checks this list against apps/.
let appNames = ["badcalls", "badmem", "counter", "cpubench", "dhcp-client", "echo", "fault", "heap", "hello", "httpd", "netbad", "netbench", "pager-demo", "pct", "ports", "reclaim", "share", "sleeper", "spinner", "tcp-echo", "tenant", "threads", "udp-echo", "vmbench"]
/// Apps that link the network libOS as well as the POSIX one.
let networkedApps: Set<String> = ["dhcp-client", "httpd", "netbad", "netbench", "tcp-echo", "udp-echo"]
func appTarget(_ name: String) -> String { "App_" + name.split(separator: "-").joined(separator: "_") }

let package = Package(
  name: "exo",
  products: [
    .executable(name: "exo", targets: ["ExoCommand"]),
    .library(name: "exo-kernel", type: .static, targets: ["Exo"]),
    .library(name: "libos-net", type: .static, targets: ["LibOSNet"]),
  ] + appNames.map { .library(name: "app-\($0)", type: .static, targets: [appTarget($0)]) },
  targets: [
    // Hardware-free mechanisms shared by the kernel, the libOSes and the host.
    .target(name: "SecureBindings", path: "secure-bindings"),

    // The kernel: Swift in exo/, the machine edge (assembly, inline-asm header) in exo/arch/x86_64/asm.
    .target(name: "X86", path: "exo/arch/x86_64/asm", exclude: ["kernel.ld"]),
    .target(
      name: "Exo", dependencies: ["SecureBindings", "X86"], path: "exo",
      exclude: ["arch/x86_64/asm"]),

    // The user side: entry code and kernel-call instruction, the libOS logic, the runtime hooks.
    .target(name: "UserArch", path: "libos-posix/arch/x86_64", exclude: ["app.ld"]),
    .target(name: "LibOSPosix", dependencies: ["SecureBindings"], path: "libos-posix", exclude: ["arch", "runtime"]),
    // The network library OS: hardware-free protocol code (Ethernet to TCP), tested on the host.
    .target(name: "LibOSNet", path: "libos-net", exclude: ["README.md", "include", "runtime"]),
    // Its glue to the kernel (the receive ring, net_send) and the blocking sockets on the libOS's threads.
    .target(name: "NetRuntime", dependencies: ["LibOSNet", "LibOSRuntime"], path: "libos-net/runtime"),
    .target(
      name: "LibOSRuntime", dependencies: ["SecureBindings", "LibOSPosix", "UserArch"],
      path: "libos-posix/runtime"),

    // The host side.
    .target(name: "ExoHost", dependencies: ["SecureBindings"], path: "qemu/ExoHost"),
    .executableTarget(name: "ExoCommand", dependencies: ["ExoHost"], path: "qemu/exo"),
    .testTarget(name: "ExoTests", dependencies: ["SecureBindings", "LibOSPosix", "LibOSNet", "UserArch", "ExoHost"], path: "Tests/ExoTests"),
  ] + appNames.map {
    .target(
      name: appTarget($0), dependencies: networkedApps.contains($0) ? ["LibOSRuntime", "NetRuntime"] : ["LibOSRuntime"],
      path: "apps/\($0)", exclude: ["app.manifest"])
  }
)
