// One HTTP connection: parse requests as bytes arrive, answer each in
// order, keep the connection while both sides want it.
import LibOSNet
import LibOSRuntime
import NetRuntime

enum Connection {
  static let chunk = 16 * 1024

  static func serve(_ stream: TCPStream) {
    let input = UnsafeMutableRawBufferPointer.allocate(byteCount: 8192, alignment: 16)
    let output = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
    var parser = HTTPRequestParser(maxBodyLength: 64 * 1024)
    defer {
      input.deallocate()
      output.deallocate()
    }
    var open = true
    while open {
      let n: Int
      do throws(NetError) {
        guard let got = try stream.receive(into: input) else { break }
        n = got
      } catch {
        stream.abort()
        return
      }
      if n == 0 { break }
      var offset = 0
      while offset < n && open {
        switch parser.feed(UnsafeRawBufferPointer(rebasing: input[offset..<n])) {
        case .needMore:
          offset = n
        case .request(let request, let consumed):
          offset += consumed
          requests += 1
          open = respond(to: request, on: stream, using: output)
        case .error(let status):
          errors += 1
          _ = send(status: status, keepAlive: false, on: stream, using: output)
          open = false
        }
      }
    }
    stream.close()
  }

  /// Answers one request; whether the connection stays open.
  static func respond(to request: HTTPRequest, on stream: TCPStream, using output: UnsafeMutableRawBufferPointer) -> Bool {
    guard request.method == .get || request.method == .head else {
      errors += 1
      return send(status: .methodNotAllowed, keepAlive: request.keepAlive, on: stream, using: output)
    }
    let path: HTTPPathBytes
    switch request.decodedPath() {
    case .rejected(let status):
      errors += 1
      return send(status: status, keepAlive: false, on: stream, using: output) && false
    case .path(let p): path = p
    }
    guard let resource = Site.lookup(path) else {
      return send(status: .notFound, keepAlive: request.keepAlive, on: stream, using: output)
    }
    let withBody = request.method == .get
    do throws(NetError) {
      switch resource {
      case .text(let text, let type):
        let head = HTTPResponseHead.write(
          status: .ok, contentLength: text.utf8CodeUnitCount, contentType: type, keepAlive: request.keepAlive,
          into: output)
        try stream.send(UnsafeRawBufferPointer(rebasing: output[0..<head]))
        if withBody { try stream.send(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)) }
      case .big:
        let head = HTTPResponseHead.write(
          status: .ok, contentLength: Site.bigLength, contentType: "application/octet-stream",
          keepAlive: request.keepAlive, into: output)
        try stream.send(UnsafeRawBufferPointer(rebasing: output[0..<head]))
        guard withBody else { break }
        var sent = 0
        while sent < Site.bigLength {
          let n = min(chunk, Site.bigLength - sent)
          let bytes = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
          for i in 0..<n { bytes[i] = Site.bigByte(sent + i) }
          try stream.send(UnsafeRawBufferPointer(rebasing: output[0..<n]))
          sent += n
        }
      }
    } catch { return false }
    return request.keepAlive
  }

  /// A response with a small text body naming the status.
  static func send(status: HTTPStatus, keepAlive: Bool, on stream: TCPStream, using output: UnsafeMutableRawBufferPointer) -> Bool {
    let reason = status.reason
    let head = HTTPResponseHead.write(
      status: status, contentLength: reason.utf8CodeUnitCount + 1, contentType: "text/plain; charset=utf-8",
      keepAlive: keepAlive, into: output)
    guard head > 0, head + reason.utf8CodeUnitCount + 1 <= output.count else { return false }
    UnsafeMutableRawBufferPointer(rebasing: output[head...]).copyMemory(
      from: UnsafeRawBufferPointer(start: reason.utf8Start, count: reason.utf8CodeUnitCount))
    output[head + reason.utf8CodeUnitCount] = UInt8(ascii: "\n")
    do throws(NetError) {
      try stream.send(UnsafeRawBufferPointer(rebasing: output[0..<(head + reason.utf8CodeUnitCount + 1)]))
    } catch { return false }
    return keepAlive
  }
}
