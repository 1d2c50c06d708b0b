// What the stack needs of the network device: its MAC and a way to send one
// whole Ethernet frame. The real one sits on the kernel's transmit ring
// (the kernel checks the frame's source MAC/IPv4 against the env's binding);
// host tests use a recorder. Received frames come the other way, through
// `NetStack.receive(frame:now:)`.

public protocol NetworkInterface {
  /// The MAC this env is bound to: the source of every frame it sends.
  var mac: MACAddress { get }

  /// Sends one frame (14...1514 bytes, no FCS). False when the device
  /// refused it (ring full, binding check failed); the stack counts that as
  /// a loss and does not retry.
  mutating func transmit(_ frame: UnsafeRawBufferPointer) -> Bool
}
