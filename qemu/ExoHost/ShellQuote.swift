// Quotes words for the command lines exo shows (the QEMU command, the gdb
// command), so that a user can paste them into a shell as they are.
import Foundation

public enum ShellQuote {
  public static func quote(_ word: String) -> String {
    let plain =
      !word.isEmpty
      && word.unicodeScalars.allSatisfy { scalar in
        (scalar.isASCII && scalar.properties.isAlphabetic) || ("0"..."9").contains(scalar)
          || "-_./=:,@%+".unicodeScalars.contains(scalar)
      }
    if plain { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }

  public static func join(_ words: [String]) -> String { words.map(quote).joined(separator: " ") }
}
