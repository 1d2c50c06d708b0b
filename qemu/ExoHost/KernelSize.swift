// How big the kernel is: the bytes of its executable sections and the lines
// of its Swift, C-header and assembly sources, reported with every boot bench.
import Foundation

public struct KernelSize: Sendable, Equatable {
  public let textBytes: Int
  public let swiftLines: Int
  public let asmLines: Int
  public let headerLines: Int

  public init(textBytes: Int, swiftLines: Int, asmLines: Int, headerLines: Int) {
    self.textBytes = textBytes
    self.swiftLines = swiftLines
    self.asmLines = asmLines
    self.headerLines = headerLines
  }

  public static func measure(root: URL, toolchain: Toolchain) throws -> KernelSize {
    let result = try Subprocess.run(toolchain.objdump, ["-h", BuildPlan.kernelImage], in: root)
    guard result.succeeded else {
      throw ExoFailure(
        "llvm-objdump -h \(BuildPlan.kernelImage) failed", exitStatus: ExitStatus.software, detail: result.output)
    }
    let exo = root.appendingPathComponent("exo")
    return KernelSize(
      textBytes: textBytes(objdumpHeaders: result.output),
      swiftLines: lineCount(under: exo, extension: "swift"),
      asmLines: lineCount(under: exo, extension: "S"),
      headerLines: lineCount(under: exo, extension: "h"))
  }

  /// Sums the sizes of the sections `llvm-objdump -h` marks TEXT; its rows
  /// read `Idx Name Size VMA Type`, sizes in hex.
  public static func textBytes(objdumpHeaders: String) -> Int {
    var total = 0
    for row in objdumpHeaders.split(separator: "\n") {
      let words = row.split(separator: " ", omittingEmptySubsequences: true)
      guard words.count >= 5, Int(words[0]) != nil, words.dropFirst(4).contains("TEXT"),
        let size = Int(words[2], radix: 16)
      else { continue }
      total += size
    }
    return total
  }

  /// Lines in every file under `folder` whose name ends in `.extension`.
  public static func lineCount(under folder: URL, extension suffix: String) -> Int {
    guard let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { return 0 }
    var total = 0
    for case let file as URL in files where file.pathExtension == suffix {
      guard let data = try? Data(contentsOf: file), !data.isEmpty else { continue }
      total += data.reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 } + (data.last == UInt8(ascii: "\n") ? 0 : 1)
    }
    return total
  }
}
