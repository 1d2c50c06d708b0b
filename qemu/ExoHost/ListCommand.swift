// `exo list`: one line per app image with its frame quota, slices and summary.
import Foundation

public enum ListCommand {
  public static func run(root: URL) throws -> Int32 {
    let catalog = try AppCatalog.load(root: root)
    for line in table(catalog) { Output.line(line) }
    return ExitStatus.ok
  }

  public static func table(_ catalog: AppCatalog) -> [String] {
    guard !catalog.manifests.isEmpty else { return ["exo: no apps (no apps/NAME/app.manifest)"] }
    let width = max(4, catalog.manifests.map(\.name.count).max() ?? 0)
    func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
      let fill = String(repeating: " ", count: max(0, width - text.count))
      return right ? fill + text : text + fill
    }
    return ["\(pad("NAME", width))  FRAMES  SLICES  SUMMARY"]
      + catalog.manifests.map { app in
        let counts = "\(pad(String(app.frames), 6, right: true))  \(pad(String(app.slices), 6, right: true))"
        return "\(pad(app.name, width))  \(counts)  \(app.summary)"
      }
  }
}
