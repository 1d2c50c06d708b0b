import XCTest
@testable import LibOSNet

final class TCPDebugScratchTests: XCTestCase {
  func testSweep() throws {
    let e = TCPEndToEndTests(name: "x", testClosure: { _ in })
    var r = TCPTestRandom(seed: 999)
    var failures = 0
    for seed: UInt64 in 1000..<1300 {
      var config = TCPConfiguration()
      config.receiveBufferSize = [4096, 16384, 32768, 100_000, 300_000][r.below(5)]
      config.sendBufferSize = [2048, 8192, 32768, 70_000][r.below(4)]
      config.mss = [64, 200, 536, 1460][r.below(4)]
      config.nagle = r.chance(0.5)
      config.maxOutOfOrderRanges = 1 + r.below(8)
      config.delayedAckTimeout = r.chance(0.2) ? 0 : 200_000
      let loss = [0.0, 0.01, 0.05, 0.15, 0.25][r.below(5)]
      let slow: UInt64? = r.chance(0.3) ? UInt64(500_000 + r.below(3_000_000)) : nil
      let before = e.testRun?.failureCount ?? 0
      do {
        let o = try e.transfer(seed: seed, size: 20_000 + r.below(80_000), loss: loss, duplicate: r.chance(0.5) ? 0.03 : 0, corrupt: r.chance(0.5) ? 0.02 : 0, configuration: config, slowReaderB: slow)
        if o.virtualTime > 300_000_000 { print("DBG slow seed \(seed) t=\(o.virtualTime) loss \(loss) cfg rb=\(config.receiveBufferSize) sb=\(config.sendBufferSize) mss=\(config.mss)") }
      } catch {
        failures += 1
        print("DBG seed \(seed) error \(error) loss \(loss) rb=\(config.receiveBufferSize) sb=\(config.sendBufferSize) mss=\(config.mss) nagle=\(config.nagle) slow=\(String(describing: slow))")
      }
      _ = before
    }
    print("DBG failures \(failures)")
  }
}
