// The x86 exception mnemonics the kernel names in kill reports (`#PF`), and
// their vector numbers, which become `exo boot`'s exit status (128 + vector).

public enum ExceptionVector {
  public static let byMnemonic: [String: Int] = [
    "#DE": 0, "#DB": 1, "#NMI": 2, "#BP": 3, "#OF": 4, "#BR": 5, "#UD": 6, "#NM": 7, "#DF": 8,
    "#TS": 10, "#NP": 11, "#SS": 12, "#GP": 13, "#PF": 14, "#MF": 16, "#AC": 17, "#MC": 18, "#XM": 19,
    "#XF": 19, "#VE": 20, "#CP": 21, "NMI": 2,
  ]

  /// The vector of the first exception mnemonic in a kill reason, e.g. 14
  /// for "#PF page fault at rip 0x401234, address 0x0".
  public static func vector(inKillReason reason: String) -> Int? {
    for word in reason.split(whereSeparator: { $0 == " " || $0 == "(" || $0 == ")" || $0 == "," || $0 == ":" }) {
      if let vector = byMnemonic[String(word)] { return vector }
    }
    return nil
  }
}
