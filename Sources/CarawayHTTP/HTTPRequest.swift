/// The protocol version on a request line, e.g. 1.1.
public struct HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    /// The digit before the dot.
    public var major: Int
    /// The digit after the dot; 0 means HTTP/1.0 semantics (close unless `Connection: keep-alive`).
    public var minor: Int

    /// Creates a version.
    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// HTTP/1.0.
    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    /// HTTP/1.1.
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)

    /// `HTTP/1.1` form.
    public var description: String { "HTTP/\(major).\(minor)" }
}

/// One complete HTTP request, copied out of the parser before the handler sees it.
///
/// A value: handlers may keep it past their return (for an asynchronous answer) without copying.
public struct HTTPRequest: Sendable {
    /// The method as sent, upper case (`GET`, `POST`, ...).
    public var method: String
    /// The path of the request target, percent-encoding kept, without query or fragment.
    ///
    /// Kept encoded so that an encoded `/` (`%2F`) inside a segment stays distinguishable from a
    /// separator; ``Router`` decodes each segment after splitting.
    public var path: String
    /// Query parameters, percent-decoded (`+` read as a space). When a name repeats, the first value wins.
    public var query: [String: String]
    /// Header fields in arrival order, names as sent. Use ``header(_:)`` for case-insensitive lookup.
    public var headers: [(name: String, value: String)]
    /// The body, de-chunked when it came with `Transfer-Encoding: chunked`.
    public var body: [UInt8]
    /// The protocol version of the request line.
    public var version: HTTPVersion
    /// Whether the connection stays open after this request's response (HTTP/1.1 default,
    /// `Connection: close`, HTTP/1.0 `Connection: keep-alive`).
    public var keepAlive: Bool
    /// Values of the `{name}` segments of the route that matched; filled by ``Router``, empty otherwise.
    public var pathParameters: [String: String]

    /// Creates a request (the server builds these; tests and routers may too).
    public init(method: String, path: String, query: [String: String] = [:],
                headers: [(name: String, value: String)] = [], body: [UInt8] = [],
                version: HTTPVersion = .http1_1, keepAlive: Bool = true,
                pathParameters: [String: String] = [:]) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.version = version
        self.keepAlive = keepAlive
        self.pathParameters = pathParameters
    }

    /// The value of the first header field named `name`, compared case-insensitively (ASCII).
    /// - Returns: nil when no such field was sent.
    public func header(_ name: String) -> String? {
        headers.first { asciiCaseInsensitiveEquals($0.name, name) }?.value
    }
}

/// Header names are ASCII tokens, so comparing UTF-8 bytes with ASCII case folding is exact and
/// allocates nothing (unlike `lowercased()`).
func asciiCaseInsensitiveEquals<A: StringProtocol, B: StringProtocol>(_ lhs: A, _ rhs: B) -> Bool {
    var left = lhs.utf8.makeIterator()
    var right = rhs.utf8.makeIterator()
    while true {
        switch (left.next(), right.next()) {
        case (nil, nil):
            return true
        case let (a?, b?):
            if a == b { continue }
            let foldedA = (a >= 0x41 && a <= 0x5A) ? a | 0x20 : a
            let foldedB = (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b
            if foldedA != foldedB { return false }
        default:
            return false
        }
    }
}
