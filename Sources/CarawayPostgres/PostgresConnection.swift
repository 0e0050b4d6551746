import CPQ
import CarawayLoop
import Logging

/// One connection to Postgres over libpq's nonblocking API, driven by the node's libuv loop.
///
/// - Queries are queued and sent one at a time (libpq allows one statement in flight); each
///   completion fires exactly once, on the loop thread, in the order the queries were issued.
/// - A transaction runs back to back on the connection: nothing else interleaves.
/// - The connection reconnects by itself with exponential backoff and jitter (50 ms → 2 s).
///   ``onReady`` runs after each (re)connect, once remembered LISTENs are queued, so owners can
///   re-prepare state there. Queries issued while down fail at once with
///   ``PostgresError/notConnected(_:)``.
/// - A statement without a result within its timeout resets the connection (a cancel request
///   would block the loop): it fails with ``PostgresError/timeout(milliseconds:)`` and the
///   connection comes back on its own.
///
/// Threading: create it, call it and release it on the loop thread only (asserted in debug
/// builds). Nothing here blocks, provided the endpoint came from ``PostgresEndpoint/parse(_:)``
/// (which resolves names before the loop runs). See <doc:PostgresConnectionLifecycle>.
public final class PostgresConnection {
    /// Where the connection is in its life; see <doc:PostgresConnectionLifecycle>.
    public enum State: Sendable, Equatable { case idle, connecting, ready, backingOff, closed }

    // Fixed at construction.
    public let endpoint: PostgresEndpoint
    /// Names the connection in logs and as the server's `application_name`.
    public let name: String
    let loop: EventLoop
    let logger: Logger
    let logMetadata: Logger.Metadata
    let thread = LoopThread()

    // Settings: change them on the loop thread; they apply to what is sent afterwards.
    /// Default per-statement timeout in milliseconds (0 = none), counted from the send.
    public var queryTimeout: UInt64
    /// How long one connection attempt may take, in milliseconds (0 = no limit). libpq does not
    /// enforce `connect_timeout` in nonblocking mode, so this timer does.
    public var connectTimeout: UInt64 = 5_000

    // Loop-confined state.
    public private(set) var state: State = .idle
    var pgconn: OpaquePointer?
    var poll: Poll?
    var watched: Poll.Events = []
    /// PQflush left bytes unsent: wait for the socket to be writable as well.
    var flushPending = false
    var jobs = JobQueue()
    /// A statement of `jobs.first` is in flight; its results are collected in `pendingOutcome`.
    var awaitingResult = false
    var pendingOutcome: Result<PostgresResult, PostgresError>?
    /// Bumped whenever the libpq connection is torn down, so code that ran user callbacks can
    /// tell that the connection it was working on is gone.
    var generation: UInt64 = 0
    var statementTimer: LoopTimer?
    private var connectTimer: LoopTimer?
    private var backoffTimer: LoopTimer?
    private var backoffMilliseconds: UInt64 = 0
    private var failedAttempts = 0
    private var everConnected = false
    /// Channels to LISTEN on, re-issued after every reconnect.
    var channels: [String] = []
    /// How many times the connection came back after a loss (for metrics and tests).
    public private(set) var reconnects = 0

    /// Runs on the loop thread after each successful (re)connect, after the remembered LISTENs
    /// are queued; queries issued here run after them.
    public var onReady: (() -> Void)?
    /// Runs on the loop thread when an established connection is lost or reset (not on failed
    /// connect attempts, not on ``close()``), after the affected queries have failed.
    public var onDisconnect: ((PostgresError) -> Void)?
    /// Runs on the loop thread for each NOTIFY on a channel this connection listens to.
    public var onNotification: ((_ channel: String, _ payload: String) -> Void)?

    /// Creates an idle connection; call ``connect()`` to start.
    /// - Parameters:
    ///   - loop: the loop that drives the connection; call everything on its thread.
    ///   - endpoint: where to connect (from ``PostgresEndpoint/parse(_:)``).
    ///   - name: names the connection in logs (`postgres.connection`) and as `application_name`.
    ///   - logger: where the connection logs; it never builds its own.
    ///   - queryTimeout: default per-statement timeout in milliseconds (0 = none).
    public init(loop: EventLoop, endpoint: PostgresEndpoint, name: String, logger: Logger, queryTimeout: UInt64 = 10_000) {
        self.loop = loop
        self.endpoint = endpoint
        self.name = name
        self.logger = logger
        self.queryTimeout = queryTimeout
        logMetadata = ["postgres.connection": "\(name)", "postgres.endpoint": "\(endpoint)"]
    }

    /// Whether queries are accepted now.
    public var isReady: Bool { state == .ready }

    /// Starts connecting, and keeps reconnecting after failures until ``close()``.
    /// A no-op when already connecting or ready. Loop thread only.
    public func connect() {
        thread.assertCurrent()
        guard state == .idle || state == .backingOff else { return }
        backoffTimer?.stop()
        state = .connecting
        var conninfo = endpoint.connectionString
        if endpoint.options["application_name"] == nil {
            conninfo += " application_name=" + PostgresEndpoint.quote(name)
        }
        guard let conn = PQconnectStart(conninfo) else {
            connectFailed("libpq could not allocate a connection (out of memory?)")
            return
        }
        pgconn = conn
        guard PQstatus(conn) != CONNECTION_BAD else {
            connectFailed(Self.errorMessage(conn))
            return
        }
        PQsetnonblocking(conn, 1)
        installNoticeReceiver(conn)
        if connectTimeout > 0 {
            if connectTimer == nil { connectTimer = LoopTimer(loop: loop) }
            let limit = connectTimeout
            connectTimer?.start(after: limit) { [weak self] in
                guard let self, self.state == .connecting else { return }
                self.connectFailed("no answer within \(limit) ms (is the address right, or a firewall dropping packets?)")
            }
        }
        // libpq's contract: after PQconnectStart, behave as if PQconnectPoll returned WRITING.
        watchConnecting(.writable)
    }

    /// Watches the socket libpq is connecting on for `events`, then lets PQconnectPoll go on.
    private func watchConnecting(_ events: Poll.Events) {
        guard let conn = pgconn else { return }
        // PQconnectPoll may close its socket and open another (next address, SSL fallback),
        // possibly under the same number. A fresh uv_poll per step keeps libuv's epoll
        // registration on the socket that is open now; reusing one could watch a dead socket.
        closePoll()
        let fd = PQsocket(conn)
        guard fd >= 0 else {
            connectFailed("libpq has no socket: \(Self.errorMessage(conn))")
            return
        }
        do {
            let poll = try Poll(loop: loop, fileDescriptor: fd)
            self.poll = poll
            // A poll error needs no branch: PQconnectPoll sees the failed socket and reports it.
            try poll.start(events) { [weak self] _ in self?.continueConnecting() }
        } catch {
            connectFailed("cannot watch the socket: \(error)")
        }
    }

    private func continueConnecting() {
        guard state == .connecting, let conn = pgconn else { return }
        let status = PQconnectPoll(conn)
        switch status {
        case PGRES_POLLING_READING: watchConnecting(.readable)
        case PGRES_POLLING_WRITING: watchConnecting(.writable)
        case PGRES_POLLING_OK: didConnect()
        default: connectFailed(Self.errorMessage(conn))
        }
    }

    private func didConnect() {
        connectTimer?.stop()
        state = .ready
        backoffMilliseconds = 0
        failedAttempts = 0
        if everConnected {
            reconnects += 1
            logger.info("postgres.reconnected", metadata: logMetadata)
        } else {
            logger.debug("postgres.connected", metadata: logMetadata)
        }
        everConnected = true
        // The socket after the handshake may differ from any watched while connecting.
        closePoll()
        watched = []
        if let conn = pgconn, PQsocket(conn) >= 0, let poll = try? Poll(loop: loop, fileDescriptor: PQsocket(conn)) {
            self.poll = poll
        }
        updateWatch()
        guard state == .ready else { return }
        relisten()
        onReady?()
    }

    /// Watches for readable always (results, notifications, EOF) and for writable while PQflush
    /// has bytes left.
    func updateWatch() {
        guard state == .ready else { return }
        guard let poll else {
            dropConnection(reason: "cannot watch the socket")
            return
        }
        let wanted: Poll.Events = flushPending ? [.readable, .writable] : .readable
        guard wanted != watched else { return }
        do {
            try poll.start(wanted) { [weak self] result in self?.socketEvent(result) }
            watched = wanted
        } catch {
            dropConnection(reason: "cannot watch the socket: \(error)")
        }
    }

    private func connectFailed(_ reason: String) {
        teardown()
        failedAttempts += 1
        var metadata = logMetadata
        metadata["postgres.reason"] = "\(reason)"
        metadata["postgres.attempt"] = "\(failedAttempts)"
        // The first failure in a row is worth a warning (wrong password, server down); the
        // retries that follow would only repeat it.
        if failedAttempts == 1 {
            logger.warning("postgres.connect_failed", metadata: metadata)
        } else {
            logger.debug("postgres.connect_failed", metadata: metadata)
        }
        scheduleReconnect()
    }

    /// Tears the connection down and reconnects. The job at the head of the queue fails with
    /// `headError`, or with what its loss means (see ``PostgresJob/lostError(_:reason:)``);
    /// queued jobs fail with `notConnected`. Then ``onDisconnect`` runs.
    func dropConnection(reason: String, headError: PostgresError? = nil) {
        guard state == .ready else { return }
        teardown()
        let failed = jobs.removeAll()
        var metadata = logMetadata
        metadata["postgres.reason"] = "\(reason)"
        logger.warning("postgres.disconnected", metadata: metadata)
        scheduleReconnect()
        fail(failed, reason: reason, headError: headError)
        onDisconnect?(headError ?? .connectionLost(endpoint, reason: reason))
    }

    private func fail(_ failed: [PostgresJob], reason: String, headError: PostgresError?) {
        for (i, job) in failed.enumerated() {
            if i == 0, let headError {
                job.finish(.failure(headError))
            } else {
                job.finish(.failure(job.lostError(endpoint, reason: reason)))
            }
        }
    }

    private func scheduleReconnect() {
        guard state != .closed else { return }
        state = .backingOff
        backoffMilliseconds = backoffMilliseconds == 0 ? 50 : min(backoffMilliseconds * 2, 2_000)
        // Jitter spreads the reconnects of many nodes after a shared outage.
        let delay = backoffMilliseconds + UInt64.random(in: 0...(backoffMilliseconds / 4))
        if backoffTimer == nil { backoffTimer = LoopTimer(loop: loop) }
        backoffTimer?.start(after: delay) { [weak self] in self?.connect() }
    }

    /// Stops watching, then finishes the libpq connection (in that order: libuv must not poll a
    /// closed descriptor).
    private func teardown() {
        generation &+= 1
        connectTimer?.stop()
        statementTimer?.stop()
        closePoll()
        if let conn = pgconn {
            pgconn = nil
            PQfinish(conn)
        }
        awaitingResult = false
        pendingOutcome = nil
        flushPending = false
    }

    private func closePoll() {
        poll?.close()
        poll = nil
        watched = []
    }

    /// Closes for good: the query in flight fails with `connectionLost`, queued ones with
    /// `notConnected`, each exactly once; no reconnect, no ``onDisconnect``. Then the callbacks
    /// are dropped, releasing what they capture (often the connection itself). Idempotent.
    /// Loop thread only.
    public func close() {
        thread.assertCurrent()
        guard state != .closed else { return }
        state = .closed
        teardown()
        backoffTimer?.close()
        connectTimer?.close()
        statementTimer?.close()
        backoffTimer = nil
        connectTimer = nil
        statementTimer = nil
        fail(jobs.removeAll(), reason: "the connection was closed by its owner", headError: nil)
        onReady = nil
        onDisconnect = nil
        onNotification = nil
    }

    deinit {
        // Completions owe an answer even when the owner lets go without closing.
        if state != .closed { close() }
    }

    /// libpq's last error for `conn`, on one line.
    static func errorMessage(_ conn: OpaquePointer) -> String {
        oneLine(PQerrorMessage(conn).map { String(cString: $0) } ?? "")
    }

    /// libpq messages end in newlines and may span lines; logs and errors want one line.
    static func oneLine(_ text: String) -> String {
        let parts = text.split(whereSeparator: \.isNewline).map { line in
            String(line.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        }
        let joined = parts.filter { !$0.isEmpty }.joined(separator: " ")
        return joined.isEmpty ? "unknown libpq error" : joined
    }
}
