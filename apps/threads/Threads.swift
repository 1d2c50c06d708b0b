// threads: many user-level threads using every synchronisation primitive of
// the libOS, each part with a result known in advance, folded into one
// checksum line. Any wrong part prints what it got and exits 1. With
// `rr-preempt` or `stride-preempt`, slices preempt the threads: the same
// parts must give the same checksum, and then threads that never yield
// (busy loops meeting at spin barriers, which only preemption can pass)
// must all finish with a known sum.
import LibOSRuntime
import UserArch

@main
struct ThreadsApp {
  static let producers = 4
  static let consumers = 4
  static let messagesPerProducer = 250
  static let counterThreads = 8
  static let incrementsPerThread = 200
  static let barrierThreads = 8
  static let barrierRounds = 5
  static let spinners = 4
  static let spinPhases = 6
  static let spinWork = 20_000

  nonisolated(unsafe) static var failures = 0

  static func main() {
    let preemptive = App.argumentIs("rr-preempt") || App.argumentIs("stride-preempt")
    if App.argumentIs("stride") || App.argumentIs("stride-preempt") { Threads.use(.stride) } else { Threads.use(.roundRobin) }
    if preemptive {
      do throws(ExoError) { try Threads.usePreemption() } catch {
        print("threads: could not ask for slice upcalls: error \(error.rawValue)")
        Exo.exit(2)
      }
    }
    var checksum: UInt64 = 0
    checksum &+= check("queue", producerConsumer(), expected: expectedQueueSum())
    checksum &+= check("mutex", mutexCounter(), expected: UInt64(counterThreads * incrementsPerThread))
    checksum &+= check("barrier", barrier(), expected: UInt64(barrierThreads * barrierRounds))
    checksum &+= check("semaphore", semaphoreLimit(), expected: 2)
    checksum &+= check("sleep", sleepers(), expected: 3)
    if failures > 0 { Exo.exit(1) }
    print("threads: checksum \(checksum) ok")
    if preemptive {
      let sum = check("spinners", spinnersMeet(), expected: expectedSpinSum())
      if failures > 0 { Exo.exit(1) }
      print("threads: \(spinners) spinners x \(spinPhases) phases sum \(sum) ok")
    }
  }

  /// One phase of a spinner's work: checked arithmetic, so a register
  /// clobbered by a bad switch shows as a wrong sum or an overflow trap.
  @inline(never)
  static func spinPhase(_ k: Int) -> UInt64 {
    var acc: UInt64 = 0
    for i in 0..<spinWork { acc = acc + UInt64(i * (k + 1) % 97) * UInt64(k + 1) }
    return acc
  }

  static func expectedSpinSum() -> UInt64 {
    var sum: UInt64 = 0
    for k in 0..<spinners { sum += UInt64(spinPhases) * spinPhase(k) }
    return sum
  }

  /// Spinners that never yield: after each phase a spinner publishes it and
  /// busy-waits until every other spinner has finished that phase too. One
  /// that kept the CPU would wait forever, so finishing shows that each was
  /// preempted and resumed. Main spins too (it is a thread like the others)
  /// until all are done, then joins them.
  static func spinnersMeet() -> UInt64 {
    let progress = UnsafeMutablePointer<UInt64>.allocate(capacity: spinners)
    progress.initialize(repeating: 0, count: spinners)
    let sums = UnsafeMutablePointer<UInt64>.allocate(capacity: spinners)
    sums.initialize(repeating: 0, count: spinners)
    func slot(_ base: UnsafeMutablePointer<UInt64>, _ k: Int) -> UInt64 { UInt64(UInt(bitPattern: base + k)) }
    var ids: [ThreadID] = []
    for k in 0..<spinners {
      ids.append(spawn {
        var sum: UInt64 = 0
        for phase in 1...spinPhases {
          sum += spinPhase(k)
          exo_store64(slot(progress, k), UInt64(phase))
          for j in 0..<spinners {
            while exo_load64(slot(progress, j)) < UInt64(phase) {}
          }
        }
        exo_store64(slot(sums, k), sum)
      })
    }
    for k in 0..<spinners {
      while exo_load64(slot(progress, k)) < UInt64(spinPhases) {}
    }
    for id in ids { Threads.join(id) }
    var total: UInt64 = 0
    for k in 0..<spinners { total += sums[k] }
    progress.deallocate()
    sums.deallocate()
    return total
  }

  static func check(_ part: StaticString, _ got: UInt64, expected: UInt64) -> UInt64 {
    if got != expected {
      print("threads: \(part.description) WRONG: got \(got), expected \(expected)")
      failures += 1
    }
    return got
  }

  static func spawn(weight: Int = 1, _ body: @escaping () -> Void) -> ThreadID {
    do { return try Threads.spawn(weight: weight, body) } catch {
      print("threads: spawn failed")
      Exo.exit(1)
    }
  }

  /// Producers send p * 10000 + i through a queue of four; each consumer
  /// takes an equal share and adds what it got. The sum is fixed whatever
  /// the interleaving; a lost or doubled message changes it.
  static func producerConsumer() -> UInt64 {
    let queue = MessageQueue<UInt64>(capacity: 4)
    var sums = [UInt64](repeating: 0, count: consumers)
    var ids: [ThreadID] = []
    let perConsumer = producers * messagesPerProducer / consumers
    for p in 0..<producers {
      ids.append(spawn {
        for i in 0..<messagesPerProducer {
          queue.send(UInt64(p * 10000 + i))
          if i % 7 == 0 { Threads.yield() }
        }
      })
    }
    for c in 0..<consumers {
      ids.append(spawn {
        var sum: UInt64 = 0
        for _ in 0..<perConsumer { sum &+= queue.receive() }
        sums[c] = sum
      })
    }
    for id in ids { Threads.join(id) }
    return sums.reduce(0, &+)
  }

  static func expectedQueueSum() -> UInt64 {
    var sum: UInt64 = 0
    for p in 0..<producers { for i in 0..<messagesPerProducer { sum &+= UInt64(p * 10000 + i) } }
    return sum
  }

  /// Read, yield inside the critical section, write: without the mutex the
  /// yields would lose increments.
  static func mutexCounter() -> UInt64 {
    let mutex = Mutex()
    var counter: UInt64 = 0
    var ids: [ThreadID] = []
    for _ in 0..<counterThreads {
      ids.append(spawn {
        for _ in 0..<incrementsPerThread {
          mutex.lock()
          let seen = counter
          Threads.yield()
          counter = seen + 1
          mutex.unlock()
        }
      })
    }
    for id in ids { Threads.join(id) }
    return counter
  }

  /// A reusable barrier from a mutex and a condition variable. Each thread
  /// checks that nobody is a round ahead of it; the result counts arrivals.
  static func barrier() -> UInt64 {
    let mutex = Mutex()
    let allHere = Condition()
    var waiting = 0
    var generation = 0
    var arrivals: UInt64 = 0
    var ids: [ThreadID] = []
    for _ in 0..<barrierThreads {
      ids.append(spawn {
        for round in 0..<barrierRounds {
          mutex.lock()
          if generation != round { failures += 1 }
          arrivals += 1
          waiting += 1
          if waiting == barrierThreads {
            waiting = 0
            generation += 1
            allHere.broadcast()
          } else {
            let mine = generation
            while generation == mine { allHere.wait(mutex) }
          }
          mutex.unlock()
          Threads.yield()
        }
      })
    }
    for id in ids { Threads.join(id) }
    return arrivals
  }

  /// Eight threads through a semaphore of two: the most ever inside at once.
  /// The count itself is under a mutex: two threads are inside together,
  /// and with preemption their `+=` could interleave.
  static func semaphoreLimit() -> UInt64 {
    let gate = Semaphore(2)
    let count = Mutex()
    var inside = 0
    var most = 0
    var ids: [ThreadID] = []
    for _ in 0..<8 {
      ids.append(spawn {
        for _ in 0..<10 {
          gate.wait()
          count.withLock {
            inside += 1
            most = max(most, inside)
          }
          Threads.yield()
          count.withLock { inside -= 1 }
          gate.signal()
        }
      })
    }
    for id in ids { Threads.join(id) }
    return UInt64(most)
  }

  /// Three sleepers; each must wake no earlier than its deadline. Counts
  /// those that did, if a sleeper also wakes while another thread only
  /// yields (else none): then a thread is ready all along, so the sleeper
  /// wakes only through those yields (the env never idles), and every yield
  /// must look at the sleepers. The yielder gives up long after the deadline.
  static func sleepers() -> UInt64 {
    var onTime: UInt64 = 0
    let count = Mutex()  // the threads may be preempted amid the `+=`
    var ids: [ThreadID] = []
    for k in 1...3 {
      ids.append(spawn {
        let ticks = UInt64(k) * 200_000
        let start = exo_rdtsc()
        Threads.sleep(ticks: ticks)
        if exo_rdtsc() &- start >= ticks { count.withLock { onTime += 1 } }
      })
    }
    for id in ids { Threads.join(id) }
    let ticks: UInt64 = 2_000_000
    var awake = false
    var sawItWake = false
    let sleeper = spawn {
      Threads.sleep(ticks: ticks)
      awake = true
    }
    let yielder = spawn {
      let giveUp = exo_rdtsc() &+ 100 * ticks
      while !awake && exo_rdtsc() < giveUp { Threads.yield() }
      sawItWake = awake
    }
    Threads.join(sleeper)
    Threads.join(yielder)
    return sawItWake ? onTime : 0
  }
}
