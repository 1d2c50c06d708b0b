// ports: tries what only the kernel may do. `out` to QEMU's exit port and
// `cli` must fault (#GP); `popf` cannot raise IOPL from ring 3, so after it
// the `out` must still fault. If QEMU exits here, the I/O map is open.
import LibOSRuntime
import UserArch

@main
struct Ports {
  static func main() {
    if App.argumentIs("cli") {
      print("trying cli")
      exo_try_cli()
    } else if App.argumentIs("iopl") {
      let flags = exo_try_popf_iopl3()
      print("popf with IOPL 3 left IOPL at \((flags >> 12) & 3)")
      print("trying out to port 0xf4")
      exo_try_outb(0xf4, 0x00)
    } else {
      print("trying out to port 0xf4")
      exo_try_outb(0xf4, 0x00)
    }
    print("still alive: the privileged instruction ran")
    Exo.exit(1)
  }
}
