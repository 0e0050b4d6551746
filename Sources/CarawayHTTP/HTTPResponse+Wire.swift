import CHTTPParser

extension HTTPResponse {
    /// Whether the handler asked to end the connection after this response (`Connection: close`).
    var asksToClose: Bool {
        guard let value = header("Connection") else { return false }
        return value.split(separator: ",").contains { asciiCaseInsensitiveEquals($0.trimmingSpaces, "close") }
    }

    /// The bytes of this response on an HTTP/1.1 connection.
    ///
    /// Framing belongs to the server, not the handler: `Content-Length`, `Transfer-Encoding` and
    /// `Connection` from `headers` are dropped and written from the connection's state instead.
    /// - Parameters:
    ///   - keepAlive: false writes `Connection: close`.
    ///   - announceKeepAlive: writes `Connection: keep-alive` (HTTP/1.0 clients need it to stay).
    ///   - headRequest: the request was HEAD: the length is announced but no body is sent.
    func wireBytes(keepAlive: Bool, announceKeepAlive: Bool, headRequest: Bool) -> [UInt8] {
        // A handler bug must not produce an unparseable status line.
        let status = (100...999).contains(status) ? status : 500
        // RFC 9110 §8.6 and §15: no Content-Length and no body on 1xx and 204; on 304 the length
        // would have to be that of the 200 we don't know, so none either.
        let bodyAllowed = status >= 200 && status != 204 && status != 304
        var head = "HTTP/1.1 \(status) \(Self.reasonPhrase(status))\r\n"
        var hasServer = false
        for (name, value) in headers {
            if asciiCaseInsensitiveEquals(name, "Content-Length") || asciiCaseInsensitiveEquals(name, "Connection")
                || asciiCaseInsensitiveEquals(name, "Transfer-Encoding") {
                continue
            }
            if asciiCaseInsensitiveEquals(name, "Server") { hasServer = true }
            head += Self.withoutLineBreaks(name) + ": " + Self.withoutLineBreaks(value) + "\r\n"
        }
        if !hasServer { head += "Server: caraway\r\n" }
        if bodyAllowed { head += "Content-Length: \(body.count)\r\n" }
        if !keepAlive {
            head += "Connection: close\r\n"
        } else if announceKeepAlive {
            head += "Connection: keep-alive\r\n"
        }
        head += "\r\n"
        var bytes = Array(head.utf8)
        if bodyAllowed && !headRequest { bytes += body }
        return bytes
    }

    /// The reason phrase http-parser knows for `status`, or a neutral word (clients ignore it).
    static func reasonPhrase(_ status: Int) -> String {
        let known = String(cString: http_status_str(http_status(UInt32(status))))
        return known.hasPrefix("<") ? "Status" : known
    }

    /// A CR or LF in a header would let a handler's data end the header block early (response
    /// splitting); they become spaces.
    private static func withoutLineBreaks(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) else { return text }
        return String(text.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (HTTP's optional whitespace).
    var trimmingSpaces: SubSequence {
        var slice = self[...]
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return slice
    }
}
