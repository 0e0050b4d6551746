import CPQ
import Logging

extension PostgresConnection {
    /// Listens to `channel` (case-sensitive, quoted as an identifier) now and after every
    /// reconnect: the channel is remembered and LISTEN is re-issued before ``onReady`` runs.
    ///
    /// Notifications arrive through ``onNotification`` whenever the socket is readable, also
    /// while no query is in flight. Loop thread only.
    /// - Parameter completion: fires exactly once on the loop thread when this LISTEN has run:
    ///   from then on NOTIFYs on `channel` arrive. When the connection is not ready it fires at
    ///   once with ``PostgresError/notConnected(_:)``; the channel is still remembered and
    ///   listened to at the next connect.
    public func listen(_ channel: String, _ completion: ((Result<Void, PostgresError>) -> Void)? = nil) {
        thread.assertCurrent()
        if !channels.contains(channel) { channels.append(channel) }
        guard state == .ready else {
            completion?(.failure(.notConnected(endpoint)))
            return
        }
        sendListen(channel, completion)
    }

    /// Stops listening to `channel`, now and after reconnects. Loop thread only.
    /// - Parameter completion: fires exactly once on the loop thread, as for ``listen(_:_:)``.
    public func unlisten(_ channel: String, _ completion: ((Result<Void, PostgresError>) -> Void)? = nil) {
        thread.assertCurrent()
        channels.removeAll { $0 == channel }
        guard state == .ready else {
            completion?(.failure(.notConnected(endpoint)))
            return
        }
        query("UNLISTEN \(Self.quoteIdentifier(channel))") { completion?($0.map { _ in () }) }
    }

    /// The channels re-listened after every reconnect, in the order first listened.
    public var listenedChannels: [String] { channels }

    /// Queues LISTEN for every remembered channel (right after a connect).
    func relisten() {
        for channel in channels { sendListen(channel, nil) }
    }

    private func sendListen(_ channel: String, _ completion: ((Result<Void, PostgresError>) -> Void)?) {
        query("LISTEN \(Self.quoteIdentifier(channel))") { [logger, logMetadata] result in
            if case .failure(let error) = result {
                var metadata = logMetadata
                metadata["postgres.channel"] = "\(channel)"
                metadata["postgres.error"] = "\(error)"
                logger.warning("postgres.listen_failed", metadata: metadata)
            }
            completion?(result.map { _ in () })
        }
    }

    /// Hands every notification libpq has parsed to ``onNotification``.
    func deliverNotifications() {
        let current = generation
        while generation == current, let conn = pgconn, let notify = PQnotifies(conn) {
            let channel = String(cString: notify.pointee.relname)
            let payload = notify.pointee.extra.map { String(cString: $0) } ?? ""
            PQfreemem(notify)
            onNotification?(channel, payload)
        }
    }

    /// `"name"`, with embedded quotes doubled: LISTEN takes an identifier, not a parameter.
    static func quoteIdentifier(_ name: String) -> String {
        var out = "\""
        for c in name {
            if c == "\"" { out.append("\"") }
            out.append(c)
        }
        return out + "\""
    }

    /// Routes the server's notices (RAISE NOTICE, "relation already exists, skipping") to the
    /// logger at debug; libpq's default receiver would print them to stderr.
    func installNoticeReceiver(_ conn: OpaquePointer) {
        // Unretained: the connection finishes its PGconn before it is released (teardown/deinit).
        PQsetNoticeReceiver(conn, { context, result in
            guard let context, let result else { return }
            Unmanaged<PostgresConnection>.fromOpaque(context).takeUnretainedValue().logNotice(result)
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    private func logNotice(_ result: OpaquePointer) {
        let field = { (code: Character) -> String in
            PQresultErrorField(result, Int32(code.asciiValue!)).map { String(cString: $0) } ?? ""
        }
        var metadata = logMetadata
        metadata["postgres.severity"] = "\(field("V"))"
        metadata["postgres.sqlstate"] = "\(field("C"))"
        metadata["postgres.message"] = "\(field("M"))"
        logger.debug("postgres.notice", metadata: metadata)
    }
}
