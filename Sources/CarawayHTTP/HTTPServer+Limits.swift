extension HTTPServer {
    /// What one client may cost the node. Every limit answers with a status and closes the
    /// connection, so a misbehaving client never harms the others (invariant I5).
    public struct Limits: Sendable {
        /// Bytes of request line plus header fields (and chunked trailers) per request; beyond it
        /// the answer is `431 Request Header Fields Too Large`.
        public var maxHeaderBytes: Int
        /// Bytes of body per request, announced (`Content-Length`) or received (chunked); beyond it
        /// the answer is `413 Content Too Large`, sent before the body is read.
        public var maxBodyBytes: Int
        /// Open connections served at once; further ones are answered `503 Service Unavailable`
        /// and closed without reading a request.
        public var maxConnections: Int
        /// Time a client has to deliver one whole request, counted from its first byte (for the
        /// first request, from the accept). A client still sending when it passes gets
        /// `408 Request Timeout`; one that sent nothing is closed silently.
        public var requestTimeout: Duration
        /// Time a keep-alive connection may sit with no request in progress and nothing owed to it
        /// before it is closed silently.
        public var idleTimeout: Duration
        /// After an error answer (400, 408, 413, 431, 503) the server reads and discards what the
        /// client still sends, for at most this long, before closing. Closing a socket with unread
        /// input makes the kernel send a reset, and the client would lose the answer.
        public var lingerTimeout: Duration

        /// Creates limits; the defaults suit an admin and API port on a task node.
        ///
        /// Stops with a precondition failure on a zero or negative limit: that is a programming
        /// error, not a configuration to run with.
        public init(maxHeaderBytes: Int = 16 * 1024, maxBodyBytes: Int = 1024 * 1024, maxConnections: Int = 256,
                    requestTimeout: Duration = .seconds(10), idleTimeout: Duration = .seconds(30),
                    lingerTimeout: Duration = .seconds(1)) {
            precondition(maxHeaderBytes > 0 && maxBodyBytes >= 0 && maxConnections > 0, "HTTP limits must be positive")
            precondition(requestTimeout > .zero && idleTimeout > .zero && lingerTimeout > .zero,
                         "HTTP timeouts must be positive")
            self.maxHeaderBytes = maxHeaderBytes
            self.maxBodyBytes = maxBodyBytes
            self.maxConnections = maxConnections
            self.requestTimeout = requestTimeout
            self.idleTimeout = idleTimeout
            self.lingerTimeout = lingerTimeout
        }
    }
}

extension Duration {
    /// Whole milliseconds, at least 1 (libuv timers take milliseconds; 0 would mean "next tick").
    var loopMilliseconds: UInt64 {
        let (seconds, attoseconds) = components
        let total = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return UInt64(max(total, 1))
    }
}
