// The response statuses the web server sends, with their reason phrases
// (RFC 9110 §15; 431 from RFC 6585 §5).

public enum HTTPStatus: Int, Equatable, Sendable {
  case ok = 200
  case badRequest = 400
  case notFound = 404
  case methodNotAllowed = 405
  case contentTooLarge = 413
  case uriTooLong = 414
  case requestHeaderFieldsTooLarge = 431
  case internalServerError = 500
  case notImplemented = 501
  case httpVersionNotSupported = 505

  public var reason: StaticString {
    switch self {
    case .ok: return "OK"
    case .badRequest: return "Bad Request"
    case .notFound: return "Not Found"
    case .methodNotAllowed: return "Method Not Allowed"
    case .contentTooLarge: return "Content Too Large"
    case .uriTooLong: return "URI Too Long"
    case .requestHeaderFieldsTooLarge: return "Request Header Fields Too Large"
    case .internalServerError: return "Internal Server Error"
    case .notImplemented: return "Not Implemented"
    case .httpVersionNotSupported: return "HTTP Version Not Supported"
    }
  }
}
