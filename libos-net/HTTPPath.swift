// From a request target to a path the server may look up: the part before
// "?", percent-decoded (RFC 3986 §2.1), refused with 400 when a "%" lacks
// two hex digits, when it decodes to NUL, or when the decoded path climbs
// out of the root (a "/../" segment or a final "/.."). Climbing is refused
// as 400 rather than 404 because no correct client sends it: a client
// removes dot-segments itself (RFC 3986 §5.2.4) before sending.

public enum HTTPPathDecoding: Equatable, Sendable {
  case path(HTTPPathBytes)
  case rejected(HTTPStatus)
}

public enum HTTPPath {
  public static func decode(_ target: HTTPPathBytes) -> HTTPPathDecoding {
    typealias C = HTTPCharacters
    guard target.count > 0, target[0] == C.slash else { return .rejected(.badRequest) }
    var path = HTTPPathBytes()
    var i = 0
    while i < target.count && target[i] != C.question {
      var b = target[i]
      if b == C.percent {
        guard i + 2 < target.count, let high = C.hexValue(target[i + 1]), let low = C.hexValue(target[i + 2])
        else { return .rejected(.badRequest) }
        b = high << 4 | low
        guard b != 0 else { return .rejected(.badRequest) }
        i += 3
      } else {
        i += 1
      }
      _ = path.append(b)  // never longer than the target
    }
    return climbsOut(path) ? .rejected(.badRequest) : .path(path)
  }

  /// Whether `path` holds a ".." segment: "/../" anywhere or "/.." at the end.
  static func climbsOut(_ path: HTTPPathBytes) -> Bool {
    typealias C = HTTPCharacters
    var k = 0
    while k + 2 < path.count {
      if path[k] == C.slash && path[k + 1] == C.dot && path[k + 2] == C.dot
        && (k + 3 == path.count || path[k + 3] == C.slash)
      {
        return true
      }
      k += 1
    }
    return false
  }
}
