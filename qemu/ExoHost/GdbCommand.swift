// The one gdb command that loads the kernel's and every app's symbols (each
// app slot is linked at its own address) and attaches to QEMU's gdb stub.

public enum GdbCommand {
  /// `kernel` and `apps` are absolute paths to the ELF images.
  public static func line(kernel: String, apps: [String], port: Int = QemuMachine.gdbPort) -> String {
    var words = ["gdb", "-ex", "file \(kernel)"]
    for app in apps { words += ["-ex", "add-symbol-file \(app)"] }
    words += ["-ex", "target remote localhost:\(port)"]
    return ShellQuote.join(words)
  }
}
