// Kernel panics: a report on the console, then QEMU exits with the panic
// status so that no failure can pass for a good boot.
import SecureBindings

func panic(_ message: StaticString) -> Never {
  KernelLine().text("PANIC: ").text(message).end()
  Machine.exitQEMU(DebugExit.panic)
}
