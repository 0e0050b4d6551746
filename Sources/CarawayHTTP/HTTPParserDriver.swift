import CHTTPParser

/// Why a request was refused before reaching a handler: the status to answer and the words to say.
struct HTTPParseFailure: Equatable, CustomStringConvertible {
    /// 400, 413 or 431.
    let status: Int
    /// A stable name: http-parser's `HPE_*` for syntax errors, `BODY_TOO_LARGE`, `HEADER_TOO_LARGE`.
    let code: String
    /// A short sentence for the client and the log.
    let message: String

    var description: String { "\(status) \(code): \(message)" }

    static func parser(_ errno: http_errno) -> HTTPParseFailure {
        if errno == HPE_HEADER_OVERFLOW {
            // http-parser's own (80 KiB) cap, reachable only through whitespace it does not hand
            // to callbacks; same meaning as our limit.
            return HTTPParseFailure(status: 431, code: "HEADER_TOO_LARGE", message: "request header too large")
        }
        return HTTPParseFailure(status: 400, code: String(cString: http_errno_name(errno)),
                                message: String(cString: http_errno_description(errno)))
    }
}

/// Turns bytes into ``HTTPRequest`` values with http-parser 2.9, one complete request at a time.
///
/// The parser is paused after every message, so the connection decides between requests whether
/// to read on (pipelining depth, `Connection: close`, a failure) — nothing is parsed that will not
/// be answered. Callbacks run only inside `parse`, synchronously, so `parser.data` holds an
/// unretained reference. After a failure the driver stays failed: the connection must close.
///
/// Thread: the loop thread (one driver per connection).
final class HTTPParserDriver {
    enum Outcome {
        case request(HTTPRequest)
        case failure(HTTPParseFailure)
    }

    private let parser: UnsafeMutablePointer<http_parser>
    private let settings: UnsafeMutablePointer<http_parser_settings>
    private let maxHeaderBytes: Int
    private let maxBodyBytes: Int

    // State of the message under construction; reset at each message begin.
    private var target: [UInt8] = []
    private var headers: [(name: String, value: String)] = []
    private var fieldName: [UInt8] = []
    private var fieldValue: [UInt8] = []
    private var inValue = false
    private var headersComplete = false
    private var headerBytes = 0
    private var body: [UInt8] = []

    private var completed: HTTPRequest?
    private var callbackFailure: HTTPParseFailure?
    private(set) var hasFailed = false
    /// A request's first byte has arrived and its last has not.
    private(set) var isMidMessage = false
    /// Messages begun so far on this connection (the connection's request-timeout bookkeeping).
    private(set) var messagesBegun = 0
    /// The current request's headers asked for `100 Continue` and its body has not arrived yet.
    private(set) var awaitsContinue = false

    init(maxHeaderBytes: Int, maxBodyBytes: Int) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
        parser = .allocate(capacity: 1)
        settings = .allocate(capacity: 1)
        http_parser_init(parser, HTTP_REQUEST)
        http_parser_settings_init(settings)
        Self.install(on: settings)
        parser.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        parser.deallocate()
        settings.deallocate()
    }

    /// Parses `bytes` up to the end of the first complete request in them.
    /// - Returns: how many bytes were used (feed the rest again later) and, when a request ended
    ///   or the input turned out invalid, the outcome. After a failure every later call returns (0, nil).
    func parse(_ bytes: UnsafeRawBufferPointer) -> (consumed: Int, outcome: Outcome?) {
        guard !hasFailed, let base = bytes.baseAddress, !bytes.isEmpty else { return (0, nil) }
        let consumed = http_parser_execute(parser, settings, base.assumingMemoryBound(to: CChar.self), bytes.count)
        let errno = http_errno(parser.pointee.http_errno)
        if errno == HPE_PAUSED {
            http_parser_pause(parser, 0)
            let request = completed
            completed = nil
            return (consumed, request.map { .request($0) })
        }
        if errno != HPE_OK {
            hasFailed = true
            isMidMessage = false
            let failure = callbackFailure ?? .parser(errno)
            return (consumed, .failure(failure))
        }
        return (consumed, nil)
    }

    /// Marks the pending `100 Continue` as dealt with (sent, or deliberately skipped).
    func clearContinue() { awaitsContinue = false }

    // MARK: Callbacks (called by http_parser_execute, on this thread, within `parse`)

    private func beginMessage() {
        target.removeAll(keepingCapacity: true)
        headers = []
        fieldName.removeAll(keepingCapacity: true)
        fieldValue.removeAll(keepingCapacity: true)
        inValue = false
        headersComplete = false
        headerBytes = 0
        body = []
        isMidMessage = true
        awaitsContinue = false
        messagesBegun += 1
    }

    /// Counts header-section bytes; false once over the limit. The 4 bytes per field stand for
    /// ": " and CRLF, which http-parser does not hand over but the client did send.
    private func countHeaderBytes(_ count: Int, perField: Bool = false) -> Bool {
        headerBytes += count + (perField ? 4 : 0)
        if headerBytes > maxHeaderBytes {
            callbackFailure = HTTPParseFailure(status: 431, code: "HEADER_TOO_LARGE",
                                               message: "request header exceeds \(maxHeaderBytes) bytes")
            return false
        }
        return true
    }

    private func appendTarget(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard countHeaderBytes(bytes.count) else { return false }
        target.append(contentsOf: bytes)
        return true
    }

    private func appendFieldName(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let startsField = inValue || fieldName.isEmpty
        if inValue { commitField() }
        guard countHeaderBytes(bytes.count, perField: startsField) else { return false }
        if !headersComplete { fieldName.append(contentsOf: bytes) }  // trailers are counted, not kept
        return true
    }

    private func appendFieldValue(_ bytes: UnsafeRawBufferPointer) -> Bool {
        inValue = true
        guard countHeaderBytes(bytes.count) else { return false }
        if !headersComplete { fieldValue.append(contentsOf: bytes) }
        return true
    }

    private func commitField() {
        if !headersComplete && !(fieldName.isEmpty && fieldValue.isEmpty) {
            let value = String(decoding: fieldValue, as: UTF8.self).trimmingSpaces
            headers.append((String(decoding: fieldName, as: UTF8.self), String(value)))
        }
        fieldName.removeAll(keepingCapacity: true)
        fieldValue.removeAll(keepingCapacity: true)
        inValue = false
    }

    /// Rejects an announced body that is too large before any of it is read.
    private func completeHeaders() -> Bool {
        commitField()
        headersComplete = true
        let announced = parser.pointee.content_length  // ULLONG_MAX when not announced
        let chunked = parser.pointee.flags & UInt32(F_CHUNKED.rawValue) != 0
        if !chunked && announced != UInt64.max {
            if announced > UInt64(maxBodyBytes) {
                callbackFailure = bodyTooLarge()
                return false
            }
            body.reserveCapacity(Int(announced))
        }
        let expectsBody = chunked || (announced != UInt64.max && announced > 0)
        if expectsBody, parser.pointee.http_major == 1, parser.pointee.http_minor >= 1,
           let expect = headers.first(where: { asciiCaseInsensitiveEquals($0.name, "Expect") })?.value,
           asciiCaseInsensitiveEquals(expect, "100-continue") {
            awaitsContinue = true
        }
        return true
    }

    private func appendBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        awaitsContinue = false
        if body.count + bytes.count > maxBodyBytes {
            callbackFailure = bodyTooLarge()
            return false
        }
        body.append(contentsOf: bytes)
        return true
    }

    private func bodyTooLarge() -> HTTPParseFailure {
        HTTPParseFailure(status: 413, code: "BODY_TOO_LARGE", message: "request body exceeds \(maxBodyBytes) bytes")
    }

    /// Copies the finished message out and pauses the parser so `parse` returns right here.
    private func completeMessage() {
        let raw = parser.pointee
        let method = String(cString: http_method_str(http_method(raw.method)))
        let (path, query) = RequestTarget.split(String(decoding: target, as: UTF8.self))
        // After an Upgrade (or CONNECT) the rest of the stream is another protocol, which we do
        // not speak: answer this request, then close.
        let keepAlive = http_should_keep_alive(parser) != 0 && raw.upgrade == 0
        completed = HTTPRequest(method: method, path: path, query: query, headers: headers, body: body,
                                version: HTTPVersion(major: Int(raw.http_major), minor: Int(raw.http_minor)),
                                keepAlive: keepAlive)
        headers = []
        body = []
        isMidMessage = false
        awaitsContinue = false
        http_parser_pause(parser, 1)
    }

    // MARK: C trampolines

    private static func driver(_ parser: UnsafeMutablePointer<http_parser>?) -> HTTPParserDriver {
        Unmanaged<HTTPParserDriver>.fromOpaque(parser!.pointee.data).takeUnretainedValue()
    }

    private static func span(_ data: UnsafePointer<CChar>?, _ length: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : length)
    }

    /// Non-capturing closures only: http-parser stores plain C function pointers.
    private static func install(on settings: UnsafeMutablePointer<http_parser_settings>) {
        settings.pointee.on_message_begin = { parser in
            HTTPParserDriver.driver(parser).beginMessage()
            return 0
        }
        settings.pointee.on_url = { parser, data, length in
            HTTPParserDriver.driver(parser).appendTarget(HTTPParserDriver.span(data, length)) ? 0 : 1
        }
        settings.pointee.on_header_field = { parser, data, length in
            HTTPParserDriver.driver(parser).appendFieldName(HTTPParserDriver.span(data, length)) ? 0 : 1
        }
        settings.pointee.on_header_value = { parser, data, length in
            HTTPParserDriver.driver(parser).appendFieldValue(HTTPParserDriver.span(data, length)) ? 0 : 1
        }
        settings.pointee.on_headers_complete = { parser in
            // Any value other than 0, 1 or 2 makes http-parser stop with HPE_CB_headers_complete.
            HTTPParserDriver.driver(parser).completeHeaders() ? 0 : -1
        }
        settings.pointee.on_body = { parser, data, length in
            HTTPParserDriver.driver(parser).appendBody(HTTPParserDriver.span(data, length)) ? 0 : 1
        }
        settings.pointee.on_message_complete = { parser in
            HTTPParserDriver.driver(parser).completeMessage()
            return 0
        }
    }
}
