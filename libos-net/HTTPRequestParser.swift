// Incremental framing of HTTP/1.1 requests on a byte stream (RFC 9112 §2,
// §6.3): finds where each head ends however the bytes are split across
// reads, buffers a partial head in one array made with the parser, hands the
// complete head to HTTPRequestHead, then counts the body off and skips it.
//
// Contract of `feed`: `.needMore` means every byte given was taken;
// `.request(_, consumed: n)` took the first n bytes (n >= 1), and the rest
// must be fed again; `.error` is final: every later call returns the same
// status until `reset()`, and the server answers it and closes.
//
// Limits: a head (request line through the empty line, after any empty
// lines before it, which §2.2 says to ignore) of more than 8 KiB is 431
// when the request line was complete, 414 when the request line itself is
// that long after its method, and 400 when no method ended in it. A body
// longer than `maxBodyLength` is 413. A request is returned only once its
// body has been skipped; no 100 Continue is sent (clients that sent
// `Expect: 100-continue` wait a moment and then send the body anyway).

public struct HTTPRequestParser {
  public static let maxHeadLength = 8192

  public let maxBodyLength: Int

  private enum Phase { case beforeHead, beforeHeadCR, head, body }

  private var buffer: [UInt8]
  private var buffered = 0
  private var phase = Phase.beforeHead
  // Where the scan for the head's end stands across calls.
  private var lineLength = 0
  private var lastWasCR = false
  private var requestLineDone = false
  private var requestLineHasSpace = false
  // A parsed request waiting for the rest of its body.
  private var pending: HTTPRequest? = nil
  private var bodyRemaining = 0
  private var failure: HTTPStatus? = nil

  public init(maxBodyLength: Int = 1 << 20) {
    self.maxBodyLength = max(0, maxBodyLength)
    buffer = [UInt8](repeating: 0, count: Self.maxHeadLength)
  }

  /// Forgets any partial request and any error, for a new connection; the
  /// buffer is kept.
  public mutating func reset() {
    buffered = 0
    phase = .beforeHead
    startHeadScan()
    pending = nil
    bodyRemaining = 0
    failure = nil
  }

  public mutating func feed(_ input: UnsafeRawBufferPointer) -> HTTPParseStep {
    if let failure { return .error(failure) }
    if phase == .body { return skipBody(input, from: 0) }
    var i = 0
    // Empty lines before a request line are ignored (§2.2).
    while i < input.count && phase != .head {
      let b = input[i]
      switch phase {
      case .beforeHead where b == HTTPCharacters.lf: i += 1
      case .beforeHead where b == HTTPCharacters.cr:
        phase = .beforeHeadCR
        i += 1
      case .beforeHead: phase = .head
      case .beforeHeadCR where b == HTTPCharacters.lf:
        phase = .beforeHead
        i += 1
      default: return fail(.badRequest)  // a bare CR
      }
    }
    let start = i
    while i < input.count {
      let b = input[i]
      i += 1
      if b == HTTPCharacters.lf {
        if lineLength == 0 || (lineLength == 1 && lastWasCR) { return headEnds(input, start: start, end: i) }
        requestLineDone = true
        lineLength = 0
      } else {
        // A CR only ends a line (§2.2); garbage (a TLS hello, a binary
        // protocol) is refused at its first control byte rather than
        // buffered up to the limit.
        guard !lastWasCR, !HTTPCharacters.isForbiddenControl(b) else { return fail(.badRequest) }
        if b == HTTPCharacters.sp && !requestLineDone { requestLineHasSpace = true }
        lineLength += 1
      }
      lastWasCR = b == HTTPCharacters.cr
      // The head has not ended, so at least its final LF is still to come.
      if buffered + (i - start) >= Self.maxHeadLength {
        return fail(requestLineDone ? .requestHeaderFieldsTooLarge : requestLineHasSpace ? .uriTooLong : .badRequest)
      }
    }
    append(UnsafeRawBufferPointer(rebasing: input[start..<input.count]))
    return .needMore
  }

  /// The head ended at `end` (exclusive); it began at `start` of this input
  /// or earlier, in the buffer.
  private mutating func headEnds(_ input: UnsafeRawBufferPointer, start: Int, end: Int) -> HTTPParseStep {
    let limit = maxBodyLength
    func parse(_ head: UnsafeRawBufferPointer) -> Result<HTTPRequest, HTTPRequestHead.Rejection> {
      do throws(HTTPRequestHead.Rejection) {
        return .success(try HTTPRequestHead.parse(head, maxBodyLength: limit))
      } catch {
        return .failure(error)
      }
    }
    let result: Result<HTTPRequest, HTTPRequestHead.Rejection>
    if buffered == 0 {
      result = parse(UnsafeRawBufferPointer(rebasing: input[start..<end]))
    } else {
      append(UnsafeRawBufferPointer(rebasing: input[start..<end]))
      let count = buffered
      result = buffer.withUnsafeBytes { parse(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }
    let parsed: HTTPRequest
    switch result {
    case .success(let request): parsed = request
    case .failure(let rejection): return fail(rejection.status)
    }
    buffered = 0
    startHeadScan()
    pending = parsed
    bodyRemaining = parsed.contentLength
    phase = .body
    return skipBody(input, from: end)
  }

  /// Skips what this input holds of the pending request's body.
  private mutating func skipBody(_ input: UnsafeRawBufferPointer, from start: Int) -> HTTPParseStep {
    let taken = min(bodyRemaining, input.count - start)
    bodyRemaining -= taken
    guard bodyRemaining == 0, let request = pending else { return .needMore }
    pending = nil
    phase = .beforeHead
    return .request(request, consumed: start + taken)
  }

  private mutating func startHeadScan() {
    lineLength = 0
    lastWasCR = false
    requestLineDone = false
    requestLineHasSpace = false
  }

  /// Buffers part of a head; the scan has checked that it fits.
  private mutating func append(_ bytes: UnsafeRawBufferPointer) {
    let at = buffered
    let n = min(bytes.count, buffer.count - at)
    guard n > 0 else { return }
    buffer.withUnsafeMutableBytes { raw in
      UnsafeMutableRawBufferPointer(rebasing: raw[at..<(at + n)])
        .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<n]))
    }
    buffered += n
  }

  private mutating func fail(_ status: HTTPStatus) -> HTTPParseStep {
    failure = status
    return .error(status)
  }
}
