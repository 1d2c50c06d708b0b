// badcalls: every kernel call with arguments it must refuse: unknown call
// numbers, buffers in the kernel half, non-canonical, unmapped, wrapping or
// partly mapped, lengths over the limit. Each must come back as an error
// code, never as a fault; the app checks each code and exits 0 if all match.
import LibOSRuntime
import SecureBindings

@main
struct BadCalls {
  nonisolated(unsafe) static var mismatches = 0
  nonisolated(unsafe) static var checked = 0

  static func expect(_ what: StaticString, _ result: (status: UInt64, value: UInt64), _ error: ExoError) {
    checked += 1
    if result.status == error.rawValue {
      print("refused \(what.description): status \(result.status)")
    } else {
      mismatches += 1
      print("WRONG \(what.description): status \(result.status), expected \(error.rawValue)")
    }
  }

  static func main() {
    let write = KernelCall.consoleWrite.rawValue
    // Every number the table skips, the first past it, and far ones.
    var highest: UInt64 = 0
    for call in KernelCall.allCases { highest = max(highest, call.rawValue) }
    var unknown: [UInt64] = []
    for number in 0...(highest + 1) where KernelCall(rawValue: number) == nil { unknown.append(number) }
    for number: UInt64 in unknown + [99, 0x7fff_ffff, 1 << 63, UInt64.max] {
      expect("unknown call number", Exo.rawCall(number, 1, 2, 3, 4, 5, 6), .unknownCall)
    }
    expect("console_write from the kernel half", Exo.rawCall(write, 0xffff_ffff_8010_0000, 16), .badAddress)
    expect("console_write from the direct map", Exo.rawCall(write, 0xffff_8000_0000_0000, 16), .badAddress)
    expect("console_write non-canonical", Exo.rawCall(write, 0x0000_8000_0000_0000, 16), .badAddress)
    expect("console_write null", Exo.rawCall(write, 0, 16), .badAddress)
    expect("console_write unmapped", Exo.rawCall(write, 0x1000_0000, 16), .badAddress)
    expect("console_write wrapping", Exo.rawCall(write, 0xffff_ffff_ffff_f800, 0x1000), .badAddress)
    let pastTimePage = TimePage.address + UserSpace.pageSize  // nothing is mapped above the time page
    expect("console_write past the time page", Exo.rawCall(write, pastTimePage - 8, 16), .badAddress)
    expect("console_write over the limit", Exo.rawCall(write, UserSpace.stackTop - 8, 1 << 40), .badLength)
    // An env without a network binding (no mac= in its boot configuration)
    // gets no_device from every network call that needs one.
    expect("net_attach without a binding", Exo.rawCall(KernelCall.netAttach.rawValue, 0x1000, 2), .noDevice)
    expect("net_bind without a binding", Exo.rawCall(KernelCall.netBind.rawValue, 0x1000, 24), .noDevice)
    expect("net_send without a binding", Exo.rawCall(KernelCall.netSend.rawValue, 0x1000, 60), .noDevice)
    expect("net_unbind of a filter never bound", Exo.rawCall(KernelCall.netUnbind.rawValue, 7), .badArgument)
    // The kernel's time page is mapped read-only into every env: no env may
    // make it writable, and it reads as the kernel's calibration.
    let protect = KernelCall.protect.rawValue
    expect("protect the time page writable", Exo.rawCall(protect, TimePage.address, 1, 1), .badCapability)
    checked += 1
    if Time.tscPerMillisecond == 0 { mismatches += 1 }
    print("time page: \(Time.tscPerMillisecond) TSC ticks per ms, \(Time.sliceMicroseconds) us slices")
    // Calls without pointers ignore extra arguments, but must still answer.
    let me = Exo.rawCall(KernelCall.envSelf.rawValue, UInt64.max, UInt64.max)
    checked += 1
    if me.status != 0 || me.value != UInt64(App.envID.raw) { mismatches += 1 }
    print("env_self with junk arguments: status \(me.status), env \(me.value)")
    let y = Exo.rawCall(KernelCall.yield.rawValue, UInt64.max)
    checked += 1
    if y.status != 0 { mismatches += 1 }
    print("yield with junk arguments: status \(y.status)")

    if mismatches == 0 {
      print("all \(checked) bad calls answered correctly; the kernel is alive")
      Exo.exit(0)
    }
    print("\(mismatches) of \(checked) calls answered wrongly")
    Exo.exit(1)
  }
}
