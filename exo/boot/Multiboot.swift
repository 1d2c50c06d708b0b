// Reads the Multiboot (v1) information QEMU leaves in memory: the memory
// map, the modules (app images) and their command lines. Everything here is
// read through the direct map; nothing is trusted beyond its own bounds.

struct BootModule {
  var start: UInt64
  var end: UInt64
  /// Physical address of the NUL-terminated command line.
  var commandLine: UInt64
}

struct MultibootInfo {
  static let bootloaderMagic: UInt32 = 0x2BAD_B002
  static let commandLineLimit = 1024

  let address: UInt64
  private var info: UnsafeMutableRawPointer { Machine.physical(address) }
  private func field(_ offset: Int) -> UInt32 { info.load(fromByteOffset: offset, as: UInt32.self) }
  private var flags: UInt32 { field(0) }

  var hasMemoryMap: Bool { flags & (1 << 6) != 0 }
  var moduleCount: Int { flags & (1 << 3) != 0 ? Int(field(20)) : 0 }
  private var moduleList: UInt64 { UInt64(field(24)) }
  private var memoryMap: (address: UInt64, length: UInt64) { (UInt64(field(48)), UInt64(field(44))) }

  func module(_ i: Int) -> BootModule {
    let entry = Machine.physical(moduleList + UInt64(i) * 16)
    return BootModule(
      start: UInt64(entry.load(as: UInt32.self)),
      end: UInt64(entry.load(fromByteOffset: 4, as: UInt32.self)),
      commandLine: UInt64(entry.load(fromByteOffset: 8, as: UInt32.self)))
  }

  /// The command line's bytes, up to its NUL or the limit.
  static func commandLine(of module: BootModule) -> UnsafeRawBufferPointer {
    let start = Machine.physical(module.commandLine)
    var n = 0
    while n < Self.commandLineLimit && start.load(fromByteOffset: n, as: UInt8.self) != 0 { n += 1 }
    return UnsafeRawBufferPointer(start: start, count: n)
  }

  func forEachMemoryRegion(_ body: (_ base: UInt64, _ length: UInt64, _ available: Bool) -> Void) {
    let map = memoryMap
    var offset: UInt64 = 0
    while offset + 24 <= map.length {
      let entry = Machine.physical(map.address + offset)
      let size = UInt64(entry.load(as: UInt32.self))
      let base = entry.load(fromByteOffset: 4, as: UInt64.self)
      let length = entry.load(fromByteOffset: 12, as: UInt64.self)
      let type = entry.load(fromByteOffset: 20, as: UInt32.self)
      body(base, length, type == 1)
      offset += size + 4
    }
  }

  /// Every physical range the boot information occupies, so that none of it
  /// becomes a free frame before the kernel has read it.
  func forEachOccupiedRange(_ body: (_ start: UInt64, _ end: UInt64) -> Void) {
    body(address, address + 88)
    let map = memoryMap
    body(map.address, map.address + map.length)
    body(moduleList, moduleList + UInt64(moduleCount) * 16)
    for i in 0..<moduleCount {
      let m = module(i)
      body(m.start, m.end)
      body(m.commandLine, m.commandLine + UInt64(Self.commandLine(of: m).count) + 1)
    }
  }
}
