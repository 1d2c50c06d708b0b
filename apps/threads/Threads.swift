// threads: many user-level threads using every synchronisation primitive of
// the libOS, each part with a result known in advance, folded into one
// checksum line. Any wrong part prints what it got and exits 1.
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

  nonisolated(unsafe) static var failures = 0

  static func main() {
    if App.argumentIs("stride") { Threads.use(.stride) } else { Threads.use(.roundRobin) }
    var checksum: UInt64 = 0
    checksum &+= check("queue", producerConsumer(), expected: expectedQueueSum())
    checksum &+= check("mutex", mutexCounter(), expected: UInt64(counterThreads * incrementsPerThread))
    checksum &+= check("barrier", barrier(), expected: UInt64(barrierThreads * barrierRounds))
    checksum &+= check("semaphore", semaphoreLimit(), expected: 2)
    checksum &+= check("sleep", sleepers(), expected: 3)
    if failures > 0 { Exo.exit(1) }
    print("threads: checksum \(checksum) ok")
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
  static func semaphoreLimit() -> UInt64 {
    let gate = Semaphore(2)
    var inside = 0
    var most = 0
    var ids: [ThreadID] = []
    for _ in 0..<8 {
      ids.append(spawn {
        for _ in 0..<10 {
          gate.wait()
          inside += 1
          most = max(most, inside)
          Threads.yield()
          inside -= 1
          gate.signal()
        }
      })
    }
    for id in ids { Threads.join(id) }
    return UInt64(most)
  }

  /// Three sleepers; each must wake no earlier than its deadline. Counts
  /// those that did.
  static func sleepers() -> UInt64 {
    var onTime: UInt64 = 0
    var ids: [ThreadID] = []
    for k in 1...3 {
      ids.append(spawn {
        let ticks = UInt64(k) * 200_000
        let start = exo_rdtsc()
        Threads.sleep(ticks: ticks)
        if exo_rdtsc() &- start >= ticks { onTime += 1 }
      })
    }
    for id in ids { Threads.join(id) }
    return onTime
  }
}
