// Writes whole lines straight to stdout or stderr, unbuffered, so that serial
// lines reach the user (or a pipe) the moment QEMU prints them.
import Foundation

public enum Output {
  public static func line(_ text: String) { write(text + "\n", to: 1) }
  public static func error(_ text: String) { write(text + "\n", to: 2) }

  static func write(_ text: String, to descriptor: Int32) {
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
      let written = bytes.withUnsafeBytes { buffer in
        Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
      }
      if written < 0 && errno == EINTR { continue }
      guard written > 0 else { return }
      offset += written
    }
  }
}
