/// A response to one ``HTTPRequest``, handed to ``HTTPResponder/respond(_:)``.
///
/// The server adds `Content-Length`, `Server: caraway` and, when the connection's fate needs
/// saying, `Connection`; headers of those names set here are replaced (`Server` excepted). A
/// handler may set `Connection: close` to end the connection after this response.
public struct HTTPResponse: Sendable {
    /// The status code, e.g. 200.
    public var status: Int
    /// Header fields in the order they are written.
    public var headers: [(name: String, value: String)]
    /// The body; written as is, with its length in `Content-Length`.
    public var body: [UInt8]

    /// Creates a response with exactly the given headers (plus the server's framing headers).
    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The value of the first header field named `name` (ASCII case-insensitive), or nil.
    public func header(_ name: String) -> String? {
        headers.first { asciiCaseInsensitiveEquals($0.name, name) }?.value
    }

    /// A JSON response from already-encoded bytes (`Content-Type: application/json`).
    public static func json(status: Int = 200, bytes: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: bytes)
    }

    /// A JSON response from already-encoded JSON text (`Content-Type: application/json`).
    public static func json(status: Int = 200, _ json: String) -> HTTPResponse {
        .json(status: status, bytes: Array(json.utf8))
    }

    /// A plain-text response (`Content-Type: text/plain; charset=utf-8`).
    public static func text(status: Int = 200, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: Array(text.utf8))
    }

    /// The house error shape, `{"error": message, "code": code}`, used by the server's own
    /// 4xx/5xx answers and the router's 404/405, so clients parse one form.
    /// - Parameters:
    ///   - status: The status code.
    ///   - message: A short human sentence.
    ///   - code: A stable machine-readable name (e.g. `HPE_INVALID_METHOD`), omitted when nil.
    public static func error(status: Int, _ message: String, code: String? = nil) -> HTTPResponse {
        var json = "{\"error\":" + jsonQuoted(message)
        if let code { json += ",\"code\":" + jsonQuoted(code) }
        return .json(status: status, json + "}")
    }
}

/// Quotes `text` as a JSON string (RFC 8259 §7): escapes `"`, `\` and control characters.
func jsonQuoted(_ text: String) -> String {
    var out = "\""
    out.reserveCapacity(text.utf8.count + 2)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
