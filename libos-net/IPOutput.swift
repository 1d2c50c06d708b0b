// What a transport protocol (UDP, TCP) needs from the IPv4 layer below it:
// a way to send one datagram. The stack's link layer implements it (ARP
// resolution, Ethernet framing); host tests implement it with a recorder.

public protocol IPOutput {
  /// This host's address: the source of every datagram sent.
  var localAddress: IPv4Address { get }

  /// Sends one IPv4 datagram whose payload is a whole transport segment,
  /// checksum already filled in. False when it could not be sent or queued
  /// (no route, the ARP wait queue is full); transports treat that as a loss.
  @discardableResult
  mutating func sendIP(protocol: UInt8, destination: IPv4Address, payload: UnsafeRawBufferPointer) -> Bool
}
