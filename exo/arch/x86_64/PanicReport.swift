// The panic report for a trap taken in kernel mode: vector, error code,
// RIP, CR2, every register, and the env that was running.
import SecureBindings
import X86

func panic(trap frame: UnsafeMutablePointer<UserRegisters>) -> Never {
  let r = frame.pointee
  let line = KernelLine().text("PANIC: ").text(Vectors.name(r.vector)).text(" in kernel mode, error ").hex(r.error)
    .text(", rip ").hex(r.rip).text(", cr2 ").hex(x86_read_cr2()).text(", env ")
  if let env = runningEnv { line.env(env.pointee) } else { line.text("none") }
  line.end()
  KernelLine().text("PANIC: rax ").hex(r.rax).text(" rbx ").hex(r.rbx).text(" rcx ").hex(r.rcx).text(" rdx ").hex(r.rdx)
    .text(" rsi ").hex(r.rsi).text(" rdi ").hex(r.rdi).text(" rbp ").hex(r.rbp).text(" rsp ").hex(r.rsp).end()
  KernelLine().text("PANIC: r8 ").hex(r.r8).text(" r9 ").hex(r.r9).text(" r10 ").hex(r.r10).text(" r11 ").hex(r.r11)
    .text(" r12 ").hex(r.r12).text(" r13 ").hex(r.r13).text(" r14 ").hex(r.r14).text(" r15 ").hex(r.r15)
    .text(" rflags ").hex(r.rflags).text(" cs ").hex(r.cs).end()
  Machine.exitQEMU(DebugExit.panic)
}
