// The libOS's side of visible revocation: reads the kernel's request and
// the repossession vector from the shared page (secure-bindings/Revocation.swift).
// What to give back is the app's choice: the pager evicts pages to meet a
// request (Paging.honourReclaim); frames the kernel took by force are read
// here, and a page whose frame was taken has lost its bytes for good.
import LibOSPosix
import SecureBindings

public enum Reclaim {
  /// Vector entries already handed to the app.
  nonisolated(unsafe) private static var seen: UInt64 = 0

  private static var vector: RepossessionVector? {
    guard Exceptions.isRegistered else { return nil }
    return RepossessionVector(page: UnsafeMutableRawPointer(bitPattern: UInt(Exceptions.sharedPage))!)
  }

  /// Frames the kernel asks back now (0: nothing asked, or no shared page).
  public static var requested: UInt64 { vector?.requested ?? 0 }

  /// Losses the kernel has recorded since boot (the vector's count).
  public static var repossessedCount: UInt64 { vector?.count ?? 0 }
  public static var overflowed: Bool { vector?.overflowed ?? false }

  /// Calls `body` with each loss not yet seen, oldest first; entries past
  /// the vector's capacity are lost (see `overflowed`).
  public static func takeLosses(_ body: (Repossession) -> Void) {
    guard let vector else { return }
    let count = vector.count
    while seen < count {
      if let loss = vector[Int(seen)] { body(loss) }
      seen += 1
    }
  }
}
