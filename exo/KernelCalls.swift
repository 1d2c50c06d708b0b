// The kernel-call dispatcher, written against the one table in
// secure-bindings/KernelCall.swift. Each call first decodes (checks every
// argument, changes nothing, may throw), then performs (cannot fail).
import SecureBindings

enum KernelCalls {
  static func dispatch(_ env: UnsafeMutablePointer<Env>) -> AfterTrap {
    let registers = env.pointee.registers
    let a = registers.pointee.arguments
    guard let call = KernelCall(rawValue: registers.pointee.callNumber) else {
      return finish(env, .failure(CallFailure(.unknownCall)))
    }
    switch call {
    case .exit:
      KernelLine().text("env ").env(env.pointee).text(" exited: status ").signed(Int64(Int32(truncatingIfNeeded: a.0))).end()
      retire(env)
      return .gone
    case .yield:
      _ = finish(env, .success(0))
      SliceVector.yielded()
      return .yield
    case .pctCall:
      do throws(CallFailure) {
        return .transfer(try ControlTransfer.call(env, a.0, (a.1, a.2, a.3)))
      } catch { return finish(env, .failure(error)) }
    case .eventWait:
      do throws(CallFailure) {
        let after = try Events.wait(env, a.0)
        if case .yield = after { SliceVector.yielded() }
        return after
      } catch { return finish(env, .failure(error)) }
    case .pctSend:
      do throws(CallFailure) {
        return .transfer(try ControlTransfer.call(env, a.0, (a.1, a.2, a.3), synchronous: false))
      } catch { return finish(env, .failure(error)) }
    case .pctReply:
      do throws(CallFailure) {
        guard let next = try ControlTransfer.reply(env, a.0) else { return .yield }
        return .transfer(next)
      } catch { return finish(env, .failure(error)) }
    default:
      return finish(env, perform(call, env, a))
    }
  }

  /// A call from trap.S's FAST_CALLS list, which never switches envs nor
  /// upcalls its caller: only its arguments come in, (status, value) goes out.
  @inline(__always)
  static func fast(
    _ env: UnsafeMutablePointer<Env>, _ number: UInt64, _ a: (UInt64, UInt64, UInt64, UInt64)
  ) -> (UInt64, UInt64) {
    guard let call = KernelCall(rawValue: number) else { return (ExoError.unknownCall.rawValue, 0) }
    switch perform(call, env, (a.0, a.1, a.2, a.3, 0, 0)) {
    case .success(let value): return (0, value)
    case .failure(let failure): return (failure.error.rawValue, failure.value)
    }
  }

  private static func perform(
    _ call: KernelCall, _ env: UnsafeMutablePointer<Env>, _ a: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
  ) -> Result<UInt64, CallFailure> {
    do throws(CallFailure) {
      switch call {
      case .consoleWrite: return .success(try consoleWrite(env, buffer: a.0, length: a.1))
      case .envSelf: return .success(UInt64(env.pointee.id.raw))
      case .frameAlloc: return .success(try MemoryCalls.frameAlloc(env))
      case .frameFree: try MemoryCalls.frameFree(env, a.0)
      case .map: try MemoryCalls.map(env, a.0, a.1, a.2)
      case .mapTable: try MemoryCalls.mapTable(env, a.0, a.1, a.2)
      case .unmap: try MemoryCalls.unmap(env, a.0, a.1)
      case .protect: try MemoryCalls.protect(env, a.0, a.1, a.2)
      case .mapBatch: return .success(try MemoryCalls.mapBatch(env, a.0, a.1))
      case .setExceptionHandler: try MemoryCalls.setExceptionHandler(env, a.0, a.1, a.2, a.3)
      case .frameGrant: try MemoryCalls.frameGrant(env, a.0, a.1, a.2)
      case .frameRevoke: try MemoryCalls.frameRevoke(env, a.0, a.1)
      case .pctListen: try ControlTransfer.listen(env, a.0, a.1, a.2)
      case .eventListen: try Events.listen(env, a.0, a.1)
      case .eventSignal: try Events.signal(env, a.0, a.1)
      case .irqBind: try Devices.bind(env, a.0)
      case .consoleRead: return .success(try Devices.consoleRead(env, a.0, a.1))
      case .netAttach: return .success(try Network.attach(env, a.0, a.1))
      case .netBind: return .success(try Network.bind(env, a.0, a.1))
      case .netUnbind: try Network.unbind(env, a.0)
      case .netSend: return .success(try Network.send(env, a.0, a.1))
      case .quotaLower: return .success(try Revocation.lower(env, a.0, a.1, a.2))
      case .envStart: try Quotas.start(env, a.0)
      case .timerArm: return .success(try Timers.arm(env, a.0, a.1, a.2))
      case .timerCancel: try Timers.cancel(env, a.0)
      case .exit, .yield, .pctCall, .pctSend, .pctReply, .eventWait: break  // handled by dispatch: they may switch contexts
      }
      return .success(0)
    } catch {
      return .failure(error)
    }
  }

  private static func finish(_ env: UnsafeMutablePointer<Env>, _ result: Result<UInt64, CallFailure>) -> AfterTrap {
    switch result {
    case .success(let value): env.pointee.registers.pointee.setResult(status: 0, value: value)
    case .failure(let failure):
      env.pointee.registers.pointee.setResult(status: failure.error.rawValue, value: failure.value)
    }
    return .resume
  }

  /// Reads the env's bytes through its own mapping: the env is current and
  /// the check has covered every page, so no byte read here can fault.
  private static func consoleWrite(
    _ env: UnsafeMutablePointer<Env>, buffer: UInt64, length: UInt64
  ) throws(CallFailure) -> UInt64 {
    guard length <= KernelCall.consoleWriteLimit else { throw CallFailure(.badLength) }
    let range = try MemoryCalls.readable(env, buffer, length)
    guard range.length > 0 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(range.start)), count: Int(range.length))
    for byte in bytes where env.pointee.line.append(byte) {
      Console.flush(&env.pointee)
    }
    return range.length
  }
}
