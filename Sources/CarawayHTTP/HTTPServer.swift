import CarawayLoop
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// An HTTP/1.1 server on the node's event loop: keep-alive, pipelining (answers in request
/// order), HTTP/1.0, `Expect: 100-continue`, and the ``Limits`` that keep one client from
/// harming the others.
///
/// Every request goes to one handler, usually ``Router/handle(_:_:)``. The handler runs on the
/// loop thread and must not block; it answers through the ``HTTPResponder`` exactly once, at once
/// or from a later loop callback.
///
/// The server listens from `init` until ``close(then:)``, which also closes every connection it
/// tracks, so that the loop can run out of handles and `run()` return (SIGTERM path).
///
/// Thread: the loop thread only — create, use and close it there.
public final class HTTPServer {
    // Fixed at construction.
    private let loop: EventLoop
    private let limits: Limits
    private let logger: Logger
    private let handler: (HTTPRequest, HTTPResponder) -> Void
    private let thread = LoopThread()
    /// Set right after init's first phase: the accept callback must capture a weak `self`.
    private var listener: TCPServer?

    // Loop-confined state.
    private var connections: [UInt64: HTTPConnection] = [:]
    /// Connections being answered 503; not counted against the limit, but bounded by it too.
    private var rejectedIDs: Set<UInt64> = []
    private var nextConnectionID: UInt64 = 0
    /// Whether ``close(then:)`` has been called.
    public private(set) var isClosed = false

    /// Binds `host:port` and starts accepting connections.
    /// - Parameters:
    ///   - loop: The loop everything runs on.
    ///   - host: A numeric IPv4 or IPv6 address (no name lookup: it would block the loop).
    ///   - port: The port; 0 picks a free one (see ``boundPort``).
    ///   - limits: Sizes and timeouts per client.
    ///   - logger: Where the server logs (debug per request, info per refused request).
    ///   - handler: Called once per request on the loop thread; must answer through the responder.
    /// - Throws: `LoopError` when the address does not parse or cannot be bound (`EADDRINUSE`).
    public init(loop: EventLoop, host: String, port: Int, limits: Limits = Limits(), logger: Logger,
                handler: @escaping (HTTPRequest, HTTPResponder) -> Void) throws(LoopError) {
        self.loop = loop
        self.limits = limits
        self.logger = logger
        self.handler = handler
        // libuv writes with write(2), not send(MSG_NOSIGNAL): a write to a client that reset the
        // connection raises SIGPIPE, whose default action ends the whole node. Ignoring it turns
        // that into an EPIPE on one connection. Process-wide and idempotent; the loop layer may
        // take this over, which would make this line redundant but harmless.
        signal(SIGPIPE, SIG_IGN)
        listener = try TCPServer(loop: loop, host: host, port: port) { [weak self] stream in
            guard let self else {
                stream.close()
                return
            }
            self.accept(stream)
        }
        logger.debug("HTTP server listening", metadata: ["http.host": "\(host)", "http.port": "\(boundPort)"])
    }

    /// The port actually bound (differs from the requested one when that was 0).
    public var boundPort: Int { listener?.port ?? 0 }

    /// Connections open right now, including ones being refused with 503.
    public var connectionCount: Int { connections.count }

    private func accept(_ stream: TCPStream) {
        guard !isClosed else {
            stream.close()
            return
        }
        let serving = connections.count - rejectedIDs.count
        let rejecting = serving >= limits.maxConnections
        if rejecting && rejectedIDs.count >= limits.maxConnections {
            stream.close()  // even the refusals are at their limit: drop without a word
            return
        }
        nextConnectionID += 1
        let id = nextConnectionID
        let connection = HTTPConnection(id: id, stream: stream, loop: loop, limits: limits, logger: logger,
                                        handler: handler) { [weak self] closed in
            self?.connections[closed.id] = nil
            self?.rejectedIDs.remove(closed.id)
        }
        connections[id] = connection
        if rejecting {
            rejectedIDs.insert(id)
            logger.info("HTTP connection refused at limit", metadata: [
                "http.status": "503", "http.connections": "\(serving)",
            ])
            connection.start(rejecting: .error(status: 503, "too many connections", code: "OVERLOADED"))
        } else {
            connection.start()
        }
    }

    /// Stops listening and closes every connection now; answers still owed are dropped.
    /// - Parameter then: Fires exactly once, after libuv has released the listener and every
    ///   connection's handles (at once if all are already released).
    public func close(then: (() -> Void)? = nil) {
        thread.assertCurrent()
        var pending = 1
        let released = {
            pending -= 1
            if pending == 0 { then?() }
        }
        let open = Array(connections.values)
        pending += open.count
        if !isClosed {
            isClosed = true
            logger.debug("HTTP server closing", metadata: ["http.connections": "\(open.count)"])
        }
        if let listener { listener.close(then: released) } else { released() }
        for connection in open {
            connection.close(then: released)
        }
    }

    /// Dropping the server closes it: its handles would otherwise keep the loop running forever.
    deinit {
        if !isClosed { close() }
    }
}
