// The app images of the package: every folder apps/NAME holding an
// app.manifest, as Package.swift also finds them.
import Foundation

public struct AppCatalog: Sendable {
  /// Sorted by name.
  public let manifests: [AppManifest]

  public init(manifests: [AppManifest]) {
    self.manifests = manifests.sorted { $0.name < $1.name }
  }

  public var names: [String] { manifests.map(\.name) }

  public func manifest(named name: String) -> AppManifest? {
    manifests.first { $0.name == name }
  }

  public static func load(root: URL) throws -> AppCatalog {
    let apps = root.appendingPathComponent("apps")
    let folders = (try? FileManager.default.contentsOfDirectory(atPath: apps.path)) ?? []
    var manifests: [AppManifest] = []
    for folder in folders.sorted() {
      let file = apps.appendingPathComponent(folder).appendingPathComponent("app.manifest")
      guard FileManager.default.fileExists(atPath: file.path) else { continue }
      let shownPath = "apps/\(folder)/app.manifest"
      let text: String
      do {
        text = try String(contentsOf: file, encoding: .utf8)
      } catch {
        throw ExoFailure("cannot read \(shownPath): \(error.localizedDescription)", exitStatus: ExitStatus.config)
      }
      do {
        manifests.append(try AppManifest.parse(text, file: shownPath, folder: folder))
      } catch {
        throw ExoFailure(error.description, exitStatus: ExitStatus.config)
      }
    }
    return AppCatalog(manifests: manifests)
  }
}
