// What the stack needs of the network device: its MAC, a buffer to build
// the next frame in, and a way to send it. The real one hands out buffers
// of a transmit ring in the env's own memory, which the kernel's device
// reads straight from after checking the headers (a buffer is handed out
// again only once the kernel says the device is done with it); host tests
// use a recorder. Received frames come the other way, through
// `NetStack.receive(frame:now:)`.

public protocol NetworkInterface {
  /// The MAC this env is bound to: the source of every frame it sends.
  var mac: MACAddress { get }

  /// Room for the next frame (at least 1,514 bytes); nil when every buffer
  /// is still being read by the device. The stack writes one frame into
  /// it, sends it with `transmit(count:)`, and never touches it again.
  mutating func transmitBuffer() -> UnsafeMutableRawBufferPointer?

  /// Sends the first `count` bytes (14...1514, no FCS) of the buffer
  /// `transmitBuffer` last returned. False when the device refused it
  /// (binding check failed, queue full for too long); the stack counts that
  /// as a loss and does not retry.
  mutating func transmit(count: Int) -> Bool
}
