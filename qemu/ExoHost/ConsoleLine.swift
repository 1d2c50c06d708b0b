// Reads one serial line of the kernel's console: a kernel line (`[exo] ...`)
// or an env line (`[NAME:ID] ...`), and the kernel lines the host acts on.
import SecureBindings

public enum ConsoleLine: Sendable, Equatable {
  case kernel(String)  // the text after "[exo] "
  case env(name: String, id: Int, text: String)
  case other(String)

  public static let kernelPrefix = String(describing: ConsoleWords.kernelPrefix)

  public init(_ line: String) {
    if line.hasPrefix(Self.kernelPrefix) {
      self = .kernel(String(line.dropFirst(Self.kernelPrefix.count)))
      return
    }
    if line.hasPrefix("["), let close = line.firstIndex(of: "]") {
      let tag = line[line.index(after: line.startIndex)..<close]
      let rest = line[line.index(after: close)...]
      if let colon = tag.lastIndex(of: ":"), let id = Int(tag[tag.index(after: colon)...]), !tag[..<colon].isEmpty,
        rest.isEmpty || rest.hasPrefix(" ")
      {
        self = .env(name: String(tag[..<colon]), id: id, text: String(rest.dropFirst()))
        return
      }
    }
    self = .other(line)
  }
}

/// The kernel lines whose figures the host reads.
public enum KernelReport: Sendable, Equatable {
  /// `exo kernel: 256 MiB RAM, 64000 frames free, 2 app modules`
  case bootBanner(framesFree: Int)
  /// `env hello:1 started: 9 frames`
  case envStarted(name: String, id: Int, frames: Int)
  /// `env hello:1 exited: status 0`
  case envExited(name: String, id: Int, status: Int64)
  /// `env fault:2 killed: #PF page fault at rip 0x401234, address 0x0`
  case envKilled(name: String, id: Int, reason: String)
  /// `boot: first env line after 1234567 tsc ticks from kernel entry`
  case firstEnvLine(ticks: UInt64)
  /// `all envs exited; frames free 64000 of 64000`
  case allEnvsExited(framesFree: Int, framesTotal: Int)
  /// `module 3 refused: bad magic`
  case moduleRefused(index: Int, reason: String)
  /// `PANIC ...`
  case panic(String)

  /// `text` is a kernel line without its "[exo] " prefix.
  public init?(_ text: String) {
    let words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
    func number(after word: String) -> String? {
      guard let index = words.firstIndex(of: word), index + 1 < words.count else { return nil }
      return words[index + 1].trimmingCharacters(in: ",;")
    }
    func numberBefore(_ word: String) -> String? {
      guard let index = words.firstIndex(of: word), index > 0 else { return nil }
      return words[index - 1].trimmingCharacters(in: ",;")
    }

    if text.hasPrefix("PANIC") {
      self = .panic(text)
    } else if text.hasPrefix(String(describing: ConsoleWords.allEnvsExited)) {
      guard let free = number(after: "free").flatMap({ Int($0) }), let total = number(after: "of").flatMap({ Int($0) })
      else { return nil }
      self = .allEnvsExited(framesFree: free, framesTotal: total)
    } else if text.hasPrefix("exo kernel:") {
      guard let free = words.firstIndex(of: "frames").flatMap({ $0 > 0 ? Int(words[$0 - 1]) : nil }) else {
        return nil
      }
      self = .bootBanner(framesFree: free)
    } else if text.hasPrefix("boot: first env line after ") {
      guard let ticks = numberBefore("tsc").flatMap({ UInt64($0) }) else { return nil }
      self = .firstEnvLine(ticks: ticks)
    } else if text.hasPrefix("module "), words.count >= 3, words[2] == "refused:", let index = Int(words[1]) {
      self = .moduleRefused(index: index, reason: words.dropFirst(3).joined(separator: " "))
    } else if text.hasPrefix("env "), words.count >= 3, let (name, id) = Self.envTag(words[1]) {
      switch words[2] {
      case "started:":
        guard words.count >= 4, let frames = Int(words[3]) else { return nil }
        self = .envStarted(name: name, id: id, frames: frames)
      case "exited:":
        guard let status = number(after: "status").flatMap({ Int64($0) }) else { return nil }
        self = .envExited(name: name, id: id, status: status)
      case "killed:":
        self = .envKilled(name: name, id: id, reason: words.dropFirst(3).joined(separator: " "))
      default:
        return nil
      }
    } else {
      return nil
    }
  }

  /// `hello:1` → ("hello", 1)
  static func envTag(_ word: String) -> (String, Int)? {
    guard let colon = word.lastIndex(of: ":"), let id = Int(word[word.index(after: colon)...]) else { return nil }
    let name = String(word[..<colon])
    return name.isEmpty ? nil : (name, id)
  }
}

extension String {
  fileprivate func trimmingCharacters(in set: String) -> String {
    var text = Substring(self)
    while let last = text.last, set.contains(last) { text = text.dropLast() }
    return String(text)
  }
}
