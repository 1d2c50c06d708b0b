// Finds the package root (the folder holding Package.swift) that every exo
// path is relative to, so the command works from any subfolder.
import Foundation

public enum PackageRoot {
  public static func find(from start: URL) throws -> URL {
    var folder = start.standardizedFileURL
    while true {
      if FileManager.default.fileExists(atPath: folder.appendingPathComponent("Package.swift").path) {
        return folder
      }
      let parent = folder.deletingLastPathComponent()
      if parent.path == folder.path { break }
      folder = parent
    }
    throw ExoFailure(
      "no Package.swift in \(start.path) or any folder above it; run exo inside the exo package",
      exitStatus: ExitStatus.config)
  }

  public static func fromCurrentDirectory() throws -> URL {
    try find(from: URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true))
  }
}
