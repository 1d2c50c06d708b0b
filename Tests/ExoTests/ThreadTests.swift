// Host tests of the libOS's thread logic: round-robin fairness, stride's
// ticket shares, the thread table's create/join/exit/sleep/deadlock rules,
// and the mutex, condition, semaphore and message queue state machines, the
// last two also under simulated threads interleaved by the real table; and
// the frame a preempted thread leaves on its stack, popped as switch.S does.
import LibOSPosix
import SecureBindings
import XCTest

final class ThreadTests: XCTestCase {
  // MARK: schedulers

  /// Threads always ready: over any run of picks the counts differ by at
  /// most one, and the order is a cycle.
  func testRoundRobinIsFair() {
    for n in 1...9 {
      var rr = RoundRobinScheduler(capacity: 16)
      for t in 0..<n { rr.admit(t, weight: t + 1); rr.ready(t) }
      var counts = [Int](repeating: 0, count: n)
      var order: [Int] = []
      for _ in 0..<(n * 37 + 5) {
        let t = try! XCTUnwrap(rr.next())
        counts[t] += 1
        order.append(t)
        XCTAssertLessThanOrEqual(counts.max()! - counts.min()!, 1, "n \(n)")
        rr.ready(t)
      }
      for i in n..<order.count { XCTAssertEqual(order[i], order[i - n], "n \(n): not a cycle") }
    }
  }

  /// The ring (the running thread parked after the tail) against a plain
  /// FIFO queue, through random readies, picks, yields (`rotate`) and
  /// retires of ready, parked and idle threads, and wakes of the parked
  /// thread itself (a sleeper already due when it went to sleep).
  func testRoundRobinMatchesAFIFOQueue() {
    var rng = SplitMix64(seed: 0x0f1f0)
    for round in 0..<200 {
      let capacity = 1 + rng.below(9)
      var rr = RoundRobinScheduler(capacity: capacity)
      var queue: [Int] = []
      var running: Int? = nil  // picked last and not ready again since
      var idle = Set(0..<capacity)  // neither queued nor running
      for step in 0..<300 {
        let context = "round \(round) step \(step)"
        switch rng.below(6) {
        case 0 where !idle.isEmpty:  // created or woken
          let t = rng.pick(idle.sorted())
          idle.remove(t)
          rr.ready(t)
          queue.append(t)
        case 1 where running != nil:  // the running thread is ready again, then picks
          rr.ready(running!)
          queue.append(running!)
          running = nil
          fallthrough
        case 2:  // the running thread (if any) blocked: pick
          if let r = running { idle.insert(r) }
          let picked = rr.next()
          XCTAssertEqual(picked, queue.first, context)
          running = queue.isEmpty ? nil : queue.removeFirst()
        case 3 where running != nil:  // yield
          queue.append(running!)
          let expected = queue.removeFirst()
          XCTAssertEqual(rr.rotate(running!), expected, context)
          running = expected
        case 4:  // a thread ends: the running one, or (rarely) a queued or idle one
          let t = running ?? rng.below(capacity)
          rr.retire(t)
          if t == running { running = nil }
          queue.removeAll { $0 == t }
          idle.insert(t)
        default:
          break
        }
        XCTAssertEqual(rr.readyCount, queue.count, context)
      }
    }
  }

  func testRoundRobinRetireRemovesAReadyThread() {
    var rr = RoundRobinScheduler(capacity: 4)
    for t in 0..<3 { rr.ready(t) }
    rr.retire(1)
    XCTAssertEqual(rr.next(), 0)
    XCTAssertEqual(rr.next(), 2)
    XCTAssertNil(rr.next())
  }

  /// Always-ready threads with random tickets. After every pick: any two
  /// threads' counts per ticket differ by at most one pick's worth
  /// (|c_i/t_i - c_j/t_j| <= 1/t_i + 1/t_j, stride's pairwise bound), each
  /// count is within two of its exact share; over a whole multiple of the
  /// tickets' total, the counts are exactly the shares.
  func testStrideCountsFollowTickets() {
    var random = XorShift(state: 0x1234_5678_9abc_def1)
    for round in 0..<200 {
      let n = 2 + random.below(6)
      let tickets = (0..<n).map { _ in 1 + random.below(20) }
      let total = tickets.reduce(0, +)
      var stride = StrideScheduler(capacity: 8)
      for t in 0..<n { stride.admit(t, weight: tickets[t]); stride.ready(t) }
      var counts = [Int](repeating: 0, count: n)
      for pick in 1...(total * 10) {
        let t = try! XCTUnwrap(stride.next())
        counts[t] += 1
        stride.ready(t)
        for i in 0..<n {
          let share = Double(pick * tickets[i]) / Double(total)
          XCTAssertLessThan(abs(Double(counts[i]) - share), 2, "round \(round) tickets \(tickets) pick \(pick)")
          for j in 0..<n where j != i {
            XCTAssertLessThanOrEqual(
              abs(counts[i] * tickets[j] - counts[j] * tickets[i]), tickets[i] + tickets[j],
              "round \(round) tickets \(tickets) pick \(pick)")
          }
        }
      }
      XCTAssertEqual(counts, tickets.map { $0 * 10 }, "round \(round) tickets \(tickets)")
    }
  }

  /// A thread that blocked for a long time rejoins at the current pass: it
  /// gets its share from now on, not a burst that starves the others.
  func testStrideSleeperDoesNotMonopoliseWhenItReturns() {
    var stride = StrideScheduler(capacity: 4)
    for t in 0..<3 { stride.admit(t, weight: 1); stride.ready(t) }
    var away = false
    for _ in 0..<300 {
      let t = stride.next()!
      if t == 2 && !away { away = true; continue }  // thread 2 blocks
      stride.ready(t)
    }
    stride.ready(2)
    var run = 0
    var longest = 0
    for _ in 0..<30 {
      let t = stride.next()!
      run = t == 2 ? run + 1 : 0
      longest = max(longest, run)
      stride.ready(t)
    }
    XCTAssertLessThanOrEqual(longest, 1)
  }

  func testSchedulerChoiceDelegates() {
    var rr = SchedulerChoice.roundRobin(capacity: 4)
    var st = SchedulerChoice.stride(capacity: 4)
    XCTAssertEqual(rr.name.description, "rr")
    XCTAssertEqual(st.name.description, "stride")
    for t in 0..<2 {
      rr.admit(t, weight: t == 0 ? 1 : 3); rr.ready(t)
      st.admit(t, weight: t == 0 ? 1 : 3); st.ready(t)
    }
    var rrCounts = [0, 0], stCounts = [0, 0]
    for _ in 0..<40 {
      let a = rr.next()!, b = st.next()!
      rrCounts[a] += 1; stCounts[b] += 1
      rr.ready(a); st.ready(b)
    }
    XCTAssertEqual(rrCounts, [20, 20])
    XCTAssertEqual(stCounts, [10, 30])
  }

  // MARK: the thread table

  /// `rotate` (the yield's fast path) picks exactly as `ready` then `next`,
  /// under both policies, through random yields, wakes, blocks and retires.
  func testRotateMatchesReadyThenNext() {
    for stride in [false, true] {
      var rng = SplitMix64(seed: stride ? 0x5e1f : 0x0707)
      let capacity = 9
      func make() -> SchedulerChoice { stride ? .stride(capacity: capacity) : .roundRobin(capacity: capacity) }
      var fast = make(), slow = make()
      for t in 0..<capacity {
        let weight = 1 + rng.below(5)
        fast.admit(t, weight: weight); slow.admit(t, weight: weight)
      }
      // Main is the scheduler's first pick, as the thread table makes it:
      // `rotate` takes the thread picked last.
      fast.ready(0); slow.ready(0)
      var running = fast.next()!
      XCTAssertEqual(slow.next(), running)
      var blocked = Set(1..<capacity)
      for step in 0..<2000 {
        switch rng.below(4) {
        case 0 where !blocked.isEmpty:  // a blocked thread is woken
          let t = rng.pick(Array(blocked).sorted())
          blocked.remove(t)
          fast.ready(t); slow.ready(t)
        case 1:  // the running thread blocks
          blocked.insert(running)
          let a = fast.next(), b = slow.next()
          XCTAssertEqual(a, b, "step \(step)")
          guard let next = a else {
            let t = blocked.sorted()[0]
            blocked.remove(t)
            fast.ready(t); slow.ready(t)
            running = fast.next()!
            XCTAssertEqual(slow.next(), running)
            continue
          }
          running = next
        default:  // the running thread yields
          slow.ready(running)
          let b = slow.next()
          let a = fast.rotate(running)
          XCTAssertEqual(a, b, "step \(step) stride \(stride)")
          running = a
        }
      }
    }
  }

  /// The yield's per-policy rotation of the table picks exactly as
  /// `yieldCurrent` then `pickNext`, from main (picked when the table is
  /// made) on, through random creates, blocks, wakes and exits.
  func testTableRotationMatchesYieldThenPick() {
    for stride in [false, true] {
      var rng = SplitMix64(seed: stride ? 0x7ab1e5 : 0x7ab1e)
      let capacity = 6
      func make() -> ThreadTable<SchedulerChoice> {
        ThreadTable(capacity: capacity, scheduler: stride ? .stride(capacity: capacity) : .roundRobin(capacity: capacity))
      }
      var fast = make(), slow = make()
      var blocked: [Int] = []
      for step in 0..<3000 {
        let context = "stride \(stride) step \(step)"
        switch rng.below(6) {
        case 0:  // a new thread, when a slot is free
          let weight = 1 + rng.below(4)
          XCTAssertEqual(fast.create(weight: weight), slow.create(weight: weight), context)
        case 1 where fast.liveCount - blocked.count > 1:  // the running thread blocks
          blocked.append(fast.current)
          fast.blockCurrent(); slow.blockCurrent()
          XCTAssertEqual(fast.pickNext(now: 0), slow.pickNext(now: 0), context)
        case 2 where !blocked.isEmpty:  // a blocked thread is woken
          let t = blocked.remove(at: rng.below(blocked.count))
          fast.wake(t); slow.wake(t)
        case 3 where fast.current != 0 && fast.liveCount - blocked.count > 1:  // it ends
          let ended = fast.current
          fast.exitCurrent(); slow.exitCurrent()
          XCTAssertEqual(fast.pickNext(now: 0), slow.pickNext(now: 0), context)
          XCTAssertEqual(fast.join(ended), .reaped); XCTAssertEqual(slow.join(ended), .reaped)
        default:  // it yields
          let picked = stride ? fast.rotateCurrentStride() : fast.rotateCurrentRoundRobin()
          slow.yieldCurrent()
          XCTAssertEqual(slow.pickNext(now: 0), .run(picked), context)
        }
        XCTAssertEqual(fast.current, slow.current, context)
      }
    }
  }

  func testCreateJoinExitReapsTheSlot() {
    var table = ThreadTable(capacity: 3, scheduler: SchedulerChoice.roundRobin(capacity: 3))
    XCTAssertEqual(table.current, 0)
    let a = table.create(weight: 1)!, b = table.create(weight: 1)!
    XCTAssertEqual([a, b], [1, 2])
    XCTAssertNil(table.create(weight: 1), "table full")
    // main joins a before it ran: main blocks, a runs.
    XCTAssertEqual(table.join(a), .wait)
    XCTAssertEqual(table.pickNext(now: 0), .run(a))
    table.exitCurrent()  // a ends: main becomes ready behind b
    XCTAssertEqual(table.state(0), .ready)
    XCTAssertEqual(table.pickNext(now: 0), .run(b))
    table.exitCurrent()  // nobody joins b yet
    XCTAssertEqual(table.pickNext(now: 0), .run(0))
    XCTAssertEqual(table.join(a), .reaped)
    XCTAssertEqual(table.join(b), .reaped)
    XCTAssertEqual(table.state(a), .free)
    XCTAssertEqual(table.liveCount, 1)
    XCTAssertEqual(table.create(weight: 1), 1, "a reaped slot is used again")
  }

  func testSleepersAreSkippedUntilTheirDeadline() {
    var table = ThreadTable(capacity: 3, scheduler: SchedulerChoice.roundRobin(capacity: 3))
    let a = table.create(weight: 1)!
    table.sleepCurrent(until: 100)  // main sleeps
    XCTAssertEqual(table.pickNext(now: 10), .run(a))
    table.sleepCurrent(until: 50)  // a sleeps too
    XCTAssertEqual(table.pickNext(now: 20), .idle(until: 50))
    XCTAssertEqual(table.pickNext(now: 60), .run(a))
    table.yieldCurrent()
    XCTAssertEqual(table.pickNext(now: 70), .run(a), "main still asleep")
    table.yieldCurrent()
    XCTAssertEqual(table.pickNext(now: 100), .run(a), "a was ready before main woke")
    XCTAssertEqual(table.sleepers, 0)
    table.yieldCurrent()
    XCTAssertEqual(table.pickNext(now: 100), .run(0))
  }

  func testEveryThreadBlockedIsADeadlock() {
    var table = ThreadTable(capacity: 2, scheduler: SchedulerChoice.stride(capacity: 2))
    let a = table.create(weight: 1)!
    table.blockCurrent()
    XCTAssertEqual(table.pickNext(now: 0), .run(a))
    table.blockCurrent()
    XCTAssertEqual(table.pickNext(now: 0), .deadlock)
  }

  /// Random yields, blocks and wakes: a ready thread is always picked
  /// within as many picks as there are threads under round-robin.
  func testNoReadyThreadStarvesUnderRoundRobin() {
    var random = XorShift(state: 0xfeed_beef_1234_5678)
    let n = 8
    var table = ThreadTable(capacity: n, scheduler: SchedulerChoice.roundRobin(capacity: n))
    for _ in 1..<n { _ = table.create(weight: 1) }
    var readySince = [Int](repeating: 0, count: n)
    var blocked: [Int] = []
    for step in 1...5000 {
      let cur = table.current
      if random.below(4) == 0 && blocked.count < n - 1 {
        table.blockCurrent()
        blocked.append(cur)
      } else {
        table.yieldCurrent()
        readySince[cur] = step
      }
      if !blocked.isEmpty && random.below(3) == 0 {
        let t = blocked.remove(at: random.below(blocked.count))
        table.wake(t)
        readySince[t] = step
      }
      guard case .run(let next) = table.pickNext(now: 0) else { return XCTFail("nothing ready at step \(step)") }
      for t in 0..<n where table.state(t) == .ready {
        XCTAssertLessThanOrEqual(step - readySince[t], n, "thread \(t) waited too long")
      }
      _ = next
    }
  }

  // MARK: synchronisation state

  func testMutexHandsOffInArrivalOrder() {
    var m = MutexState()
    XCTAssertTrue(m.lock(by: 1))
    XCTAssertFalse(m.lock(by: 2))
    XCTAssertFalse(m.lock(by: 3))
    XCTAssertEqual(m.unlock(by: 1), 2)
    XCTAssertEqual(m.owner, 2)
    XCTAssertEqual(m.unlock(by: 2), 3)
    XCTAssertNil(m.unlock(by: 3))
    XCTAssertNil(m.owner)
    XCTAssertTrue(m.lock(by: 4))
  }

  func testConditionSignalsInOrderAndBroadcastWakesAll() {
    var c = ConditionState()
    XCTAssertNil(c.signal())
    for t in [5, 2, 7] { c.wait(by: t) }
    XCTAssertEqual(c.signal(), 5)
    XCTAssertEqual(c.broadcast(), [2, 7])
    XCTAssertTrue(c.waiters.isEmpty)
  }

  func testSemaphoreCountsAndPassesUnitsToWaiters() {
    var s = SemaphoreState(count: 2)
    XCTAssertTrue(s.wait(by: 1))
    XCTAssertTrue(s.wait(by: 2))
    XCTAssertFalse(s.wait(by: 3))
    XCTAssertEqual(s.count, 0)
    XCTAssertEqual(s.signal(), 3, "the unit goes to the waiter")
    XCTAssertEqual(s.count, 0)
    XCTAssertNil(s.signal())
    XCTAssertEqual(s.count, 1)
  }

  func testMessageQueueIsFIFOAndBlocksWhenFullOrEmpty() {
    var q = MessageQueueState<Int>(capacity: 2)
    guard case .empty = q.receive(by: 9) else { return XCTFail("receive from empty") }
    XCTAssertEqual(q.send(10, by: 1), .sent(wake: 9))
    XCTAssertEqual(q.send(11, by: 1), .sent(wake: nil))
    XCTAssertEqual(q.send(12, by: 2), .full)
    guard case .received(let first, let wake) = q.receive(by: 9) else { return XCTFail("no message") }
    XCTAssertEqual(first, 10)
    XCTAssertEqual(wake, 2, "the blocked sender is woken")
    XCTAssertEqual(q.send(12, by: 2), .sent(wake: nil))
    var got: [Int] = []
    while case .received(let m, _) = q.receive(by: 9) { got.append(m) }
    XCTAssertEqual(got, [11, 12])
  }

  // MARK: simulated threads

  /// Producers and consumers as step machines on the real table and queue,
  /// interleaved by random yields under both schedulers: every message
  /// arrives exactly once and in each producer's order, and nobody deadlocks.
  func testMessageQueueUnderSimulatedThreads() {
    for stride in [false, true] {
      for seed in UInt64(1)...20 {
        var random = XorShift(state: seed &* 0x9e37_79b9_7f4a_7c15)
        let producers = 3, consumers = 3, perProducer = 40, n = 1 + producers + consumers
        var table = ThreadTable(
          capacity: n, scheduler: stride ? SchedulerChoice.stride(capacity: n) : .roundRobin(capacity: n))
        var queue = MessageQueueState<Int>(capacity: 1 + random.below(3))
        for t in 1..<n { _ = table.create(weight: t) }
        var sent = [Int](repeating: 0, count: n)
        var received: [[Int]] = Array(repeating: [], count: producers + 1)
        var done = [Bool](repeating: false, count: n)
        done[0] = true
        table.blockCurrent()  // main waits: it is woken by nobody, so it stays out
        var steps = 0
        var exited = 0
        var keepRunning: Int? = nil
        while exited < n - 1 {
          steps += 1
          guard steps < 100_000 else { return XCTFail("no progress") }
          let t: Int
          if let keep = keepRunning {
            t = keep  // it did not yield: it goes on without the scheduler
          } else {
            guard case .run(let next) = table.pickNext(now: 0) else { return XCTFail("deadlock, seed \(seed)") }
            t = next
          }
          keepRunning = nil
          if done[t] {
            table.exitCurrent()
            exited += 1
            continue
          }
          var blocked = false
          if t <= producers {
            let message = t * 1000 + sent[t]
            switch queue.send(message, by: t) {
            case .sent(let wake):
              sent[t] += 1
              if let wake { table.wake(wake) }
            case .full:
              blocked = true
            }
            if sent[t] == perProducer { done[t] = true }
          } else {
            switch queue.receive(by: t) {
            case .received(let m, let wake):
              received[m / 1000].append(m % 1000)
              if let wake { table.wake(wake) }
            case .empty:
              blocked = true
            }
            // All received: the consumers still waiting are told to stop.
            if received.reduce(0, { $0 + $1.count }) == producers * perProducer {
              for c in (producers + 1)..<n where !done[c] {
                done[c] = true
                if table.state(c) == .blocked { table.wake(c) }
              }
            }
          }
          if blocked {
            table.blockCurrent()
          } else if random.below(3) == 0 {
            keepRunning = t
          } else {
            table.yieldCurrent()
          }
        }
        for p in 1...producers { XCTAssertEqual(received[p], Array(0..<perProducer), "stride \(stride) seed \(seed)") }
      }
    }
  }

  /// Read-yield-write increments under a mutex, threads interleaved by the
  /// table: nothing is lost, and no two threads are ever inside at once.
  func testMutexUnderSimulatedThreads() {
    let n = 6, increments = 50
    var table = ThreadTable(capacity: n, scheduler: SchedulerChoice.roundRobin(capacity: n))
    var mutex = MutexState()
    for _ in 1..<n { _ = table.create(weight: 1) }
    table.blockCurrent()
    enum Phase { case locking, holding(Int), done }
    var phase = [Phase](repeating: .locking, count: n)
    var left = [Int](repeating: increments, count: n)
    var counter = 0
    var inside = 0
    var exited = 0
    while exited < n - 1 {
      guard case .run(let t) = table.pickNext(now: 0) else { return XCTFail("deadlock") }
      switch phase[t] {
      case .locking:
        if mutex.lock(by: t) {
          inside += 1
          XCTAssertEqual(inside, 1)
          phase[t] = .holding(counter)
          table.yieldCurrent()
        } else {
          // Woken later as the owner: the handoff means it holds the lock.
          phase[t] = .holding(-1)
          table.blockCurrent()
        }
      case .holding(let seen):
        if seen < 0 {
          inside += 1
          XCTAssertEqual(inside, 1)
          XCTAssertEqual(mutex.owner, t)
          phase[t] = .holding(counter)
          table.yieldCurrent()
          continue
        }
        counter = seen + 1
        inside -= 1
        if let next = mutex.unlock(by: t) { table.wake(next) }
        left[t] -= 1
        if left[t] == 0 {
          phase[t] = .done
          table.exitCurrent()
          exited += 1
        } else {
          phase[t] = .locking
          table.yieldCurrent()
        }
      case .done:
        XCTFail("an exited thread ran")
      }
    }
    XCTAssertEqual(counter, (n - 1) * increments)
  }

  // MARK: preemption

  /// A slot with every word distinct, copied onto a "stack" at odd and even
  /// RSPs: popping the frame as switch.S and exo_thread_resume_preempted do
  /// gives back every GPR, RFLAGS, RIP, the FXSAVE image and the RSP, and
  /// nothing at or above RSP - 128 (the red zone) is written.
  func testPreemptedFrameResumesTheExactState() {
    let slot = UnsafeMutableRawPointer.allocate(byteCount: ExceptionSlot.size, alignment: 16)
    defer { slot.deallocate() }
    for i in 0..<(ExceptionSlot.size / 8) { slot.storeBytes(of: 0xabc0_0000 + UInt64(i), toByteOffset: 8 * i, as: UInt64.self) }
    func word(_ offset: Int) -> UInt64 { slot.load(fromByteOffset: offset, as: UInt64.self) }
    let stackWords = 1024
    let stack = UnsafeMutablePointer<UInt64>.allocate(capacity: stackWords)
    defer { stack.deallocate() }
    let base = UInt64(UInt(bitPattern: stack))
    for misalign: UInt64 in [0, 8, 24] {
      stack.initialize(repeating: 0x5e17_1e17, count: stackWords)
      let rsp = base + 8 * UInt64(stackWords - 32) - misalign
      slot.storeBytes(of: rsp, toByteOffset: ExceptionSlot.rsp, as: UInt64.self)
      let resume: UInt64 = 0xfeed_f00d
      var sp = PreemptedFrame.build(slot: slot, resumeAt: resume)
      XCTAssertGreaterThanOrEqual(sp, rsp - PreemptedFrame.maxBytes)
      // Above RSP - 128 nothing changed.
      for i in 0..<stackWords where base + 8 * UInt64(i) >= rsp - PreemptedFrame.redZone {
        XCTAssertEqual(stack[i], 0x5e17_1e17, "word \(i) written, misalign \(misalign)")
      }
      func pop() -> UInt64 {
        defer { sp += 8 }
        return UnsafePointer<UInt64>(bitPattern: UInt(sp))!.pointee
      }
      // switch.S: the depth (inside the library until the resume sets 0),
      // R15 R14 R13 R12 RBX RBP, ret.
      XCTAssertEqual(pop(), 1)
      var popped: [UInt64] = []
      for _ in 0..<6 { popped.append(pop()) }
      XCTAssertEqual(pop(), resume)
      // exo_thread_resume_preempted: fxrstor64 (%rsp), then RSP = RBX.
      XCTAssertEqual(sp % 16, 0, "fxrstor needs 16-byte alignment")
      let fpu = UnsafeRawPointer(bitPattern: UInt(sp))!
      for i in 0..<64 {
        XCTAssertEqual(fpu.load(fromByteOffset: 8 * i, as: UInt64.self), word(ExceptionSlot.fpuArea + 8 * i))
      }
      sp = popped[4]  // RBX
      XCTAssertGreaterThanOrEqual(sp, UInt64(UInt(bitPattern: fpu)) + 512, "the GPR frame overlaps the FXSAVE image")
      // R15 ... R8, RBP, RDI, RSI, RDX, RCX, RBX, RAX: slot order reversed.
      for r in (0..<ExceptionSlot.generalRegisterCount).reversed() {
        XCTAssertEqual(pop(), word(ExceptionSlot.generalRegisters + 8 * r), "register \(r)")
      }
      XCTAssertEqual(pop(), word(ExceptionSlot.rflags))  // popfq
      XCTAssertEqual(pop(), word(ExceptionSlot.rip))  // retq $128
      sp += PreemptedFrame.redZone
      XCTAssertEqual(sp, rsp)
    }
  }
}
