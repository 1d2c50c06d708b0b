// The one error the exo command reports: a message for the user and the
// sysexits(3) status the command exits with.

/// The exit statuses of `exo`, from sysexits(3) so that scripts can tell failures apart.
public enum ExitStatus {
  public static let ok: Int32 = 0
  public static let usage: Int32 = 64  // EX_USAGE: bad arguments, unknown app
  public static let build: Int32 = 65  // EX_DATAERR: the kernel or an app did not build
  public static let unavailable: Int32 = 69  // EX_UNAVAILABLE: QEMU or the toolchain missing
  public static let software: Int32 = 70  // EX_SOFTWARE: failed boot, QEMU failed to start
  public static let config: Int32 = 78  // EX_CONFIG: a bad app.manifest, no package root
}

public struct ExoFailure: Error, Equatable, CustomStringConvertible {
  /// What `exo` prints after "exo: ", on stderr.
  public let message: String
  public let exitStatus: Int32
  /// Printed before the message (a failed build's output); nil when there is none.
  public let detail: String?
  /// Usage errors also print the usage text.
  public let showsUsage: Bool

  public init(_ message: String, exitStatus: Int32, detail: String? = nil, showsUsage: Bool = false) {
    self.message = message
    self.exitStatus = exitStatus
    self.detail = detail
    self.showsUsage = showsUsage
  }

  public var description: String { "exo: " + message }

  public static func usage(_ message: String) -> ExoFailure {
    ExoFailure(message, exitStatus: ExitStatus.usage, showsUsage: true)
  }
}
