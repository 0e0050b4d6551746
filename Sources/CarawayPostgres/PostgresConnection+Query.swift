import CPQ
import CarawayLoop
#if canImport(Glibc)
import Glibc
#endif

extension PostgresConnection {
    /// Runs one parameterised statement (`$1`, `$2`, … in `sql`; text format; `nil` is NULL).
    ///
    /// The statement is queued behind earlier queries and transactions and sent when they are
    /// done; `sql` must hold exactly one statement (libpq's extended protocol). Loop thread only.
    /// - Parameters:
    ///   - parameters: values for `$1…$n` in Postgres's text form; cast in SQL where the type
    ///     cannot be inferred (`$1::jsonb`).
    ///   - timeout: milliseconds from the send to the result (nil = ``queryTimeout``, 0 = none).
    ///     When it passes the connection is reset to cancel the statement.
    ///   - completion: fires exactly once on the loop thread: with the result, or with
    ///     ``PostgresError``. It fires before `query` returns when the connection is not ready
    ///     (``PostgresError/notConnected(_:)``).
    public func query(_ sql: String, _ parameters: [String?] = [], timeout: UInt64? = nil,
                      _ completion: @escaping (Result<PostgresResult, PostgresError>) -> Void) {
        thread.assertCurrent()
        guard state == .ready else {
            completion(.failure(.notConnected(endpoint)))
            return
        }
        jobs.append(PostgresJob(query: (sql, parameters), timeout: timeout ?? queryTimeout, completion))
        sendNext()
    }

    /// Runs `statements` in one transaction: BEGIN, each statement, COMMIT, back to back on the
    /// connection (nothing else interleaves).
    ///
    /// The first failing statement stops the transaction: ROLLBACK is sent and the completion
    /// reports that statement's error. Each statement gets ``queryTimeout``. Loop thread only.
    /// - Parameters:
    ///   - statements: one SQL statement each, with its parameters (as in ``query(_:_:timeout:_:)``).
    ///   - completion: fires exactly once on the loop thread: with one result per statement
    ///     after COMMIT succeeded, or with the error. A lost connection reports
    ///     ``PostgresError/connectionLost(_:reason:)`` whose reason says whether COMMIT had been
    ///     sent (only then is the outcome unknown).
    public func transaction(_ statements: [(sql: String, parameters: [String?])],
                            _ completion: @escaping (Result<[PostgresResult], PostgresError>) -> Void) {
        thread.assertCurrent()
        guard state == .ready else {
            completion(.failure(.notConnected(endpoint)))
            return
        }
        jobs.append(PostgresJob(transaction: statements, timeout: queryTimeout, completion))
        sendNext()
    }

    /// Queries and transactions queued, including the one in flight.
    public var queuedJobs: Int { jobs.count }

    /// Sends the current step of the head job, unless a statement is already in flight.
    func sendNext() {
        guard state == .ready, !awaitingResult, let conn = pgconn, let job = jobs.first else { return }
        let statement = job.current
        let accepted = withCStrings(statement.parameters) { values in
            PQsendQueryParams(conn, statement.sql, Int32(statement.parameters.count), nil, values, nil, nil, 0)
        }
        guard accepted == 1 else {
            if PQstatus(conn) == CONNECTION_BAD {
                dropConnection(reason: Self.errorMessage(conn))
            } else {
                // Refused before anything was sent (e.g. too many parameters): only this step fails.
                awaitingResult = true
                pendingOutcome = .failure(.unexpected("libpq refused the statement: \(Self.errorMessage(conn))"))
                statementFinished()
            }
            return
        }
        job.markSent()
        awaitingResult = true
        pendingOutcome = nil
        armStatementTimer(for: job)
        flush()
    }

    /// Pushes libpq's output buffer to the socket; what does not fit goes when it is writable.
    func flush() {
        guard let conn = pgconn else { return }
        switch PQflush(conn) {
        case 0: flushPending = false
        case 1: flushPending = true
        default:
            dropConnection(reason: "sending to the server failed: \(Self.errorMessage(conn))")
            return
        }
        updateWatch()
    }

    /// The socket is readable or writable (or failed) while the connection is ready.
    func socketEvent(_ event: Result<Poll.Events, LoopError>) {
        guard state == .ready, let conn = pgconn else { return }
        if case .failure(let error) = event {
            dropConnection(reason: "the socket failed: \(error)")
            return
        }
        // Read whatever is there on every event: results, notifications, or the EOF that tells
        // us the server went away even when no query is in flight.
        guard PQconsumeInput(conn) == 1 else {
            dropConnection(reason: Self.errorMessage(conn))
            return
        }
        let current = generation
        if flushPending {
            flush()
            guard generation == current else { return }
        }
        processInput()
    }

    /// Collects every result libpq can give without blocking, finishing statements as their
    /// results end, then delivers notifications.
    func processInput() {
        let current = generation
        while generation == current, awaitingResult, let conn = pgconn, PQisBusy(conn) == 0 {
            guard let result = PQgetResult(conn) else {
                statementFinished()
                continue
            }
            let verdict = absorb(result, conn)
            PQclear(result)
            if case .drop(let reason, let headError) = verdict {
                dropConnection(reason: reason, headError: headError)
                return
            }
        }
        if generation == current { deliverNotifications() }
    }

    enum Verdict {
        case keep
        /// The session cannot go on: reset it, failing the head job with `headError` if given.
        case drop(reason: String, headError: PostgresError?)
    }

    /// Records one PGresult of the statement in flight (copying it: the caller clears it).
    private func absorb(_ result: OpaquePointer, _ conn: OpaquePointer) -> Verdict {
        let status = PQresultStatus(result)
        switch status {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            if pendingOutcome == nil { pendingOutcome = .success(PostgresResult(copying: result)) }
            return .keep
        case PGRES_FATAL_ERROR:
            let field = { (code: Character) -> String? in
                PQresultErrorField(result, Int32(code.asciiValue!)).map { String(cString: $0) }
            }
            let message = field("M") ?? Self.oneLine(PQresultErrorMessage(result).map { String(cString: $0) } ?? "")
            guard let sqlState = field("C") else {
                // Raised by libpq itself (no SQLSTATE): usually the connection broke.
                if PQstatus(conn) == CONNECTION_BAD { return .drop(reason: message, headError: nil) }
                pendingOutcome = pendingOutcome ?? .failure(.unexpected(message))
                return .keep
            }
            let severity = field("V") ?? field("S") ?? "ERROR"
            if severity == "FATAL" || severity == "PANIC" {
                // The server ends the session after a FATAL (shutdown, terminated backend):
                // report it as a lost connection, which is what it is to the caller.
                return .drop(reason: "the server ended the session: \(message) (SQLSTATE \(sqlState))", headError: nil)
            }
            // The first error is the one to report.
            if case .failure? = pendingOutcome {} else {
                pendingOutcome = .failure(.server(sqlState: sqlState, message: message, detail: field("D")))
            }
            return .keep
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            // libpq would wait for COPY data forever; only a reset gets the session back.
            return .drop(reason: "the statement started a COPY, which this client does not support",
                         headError: .unexpected("COPY is not supported by PostgresConnection"))
        default:
            let name = PQresStatus(status).map { String(cString: $0) } ?? "status \(status.rawValue)"
            pendingOutcome = pendingOutcome ?? .failure(.unexpected("result status \(name)"))
            return .keep
        }
    }

    /// The statement in flight has all its results: hand them to its job, finish the job if it
    /// is done, and send what comes next.
    func statementFinished() {
        awaitingResult = false
        statementTimer?.stop()
        let outcome = pendingOutcome ?? .failure(.unexpected("the server sent no result for the statement"))
        pendingOutcome = nil
        guard let job = jobs.first else { return }
        if let final = job.advance(with: outcome) {
            _ = jobs.removeFirst()
            job.finish(final)
        }
        sendNext()
    }

    private func armStatementTimer(for job: PostgresJob) {
        guard job.timeout > 0 else {
            statementTimer?.stop()
            return
        }
        if statementTimer == nil { statementTimer = LoopTimer(loop: loop) }
        let current = generation
        statementTimer?.start(after: job.timeout) { [weak self, weak job] in
            guard let self, let job, self.generation == current, self.awaitingResult, self.jobs.first === job else { return }
            var metadata = self.logMetadata
            metadata["postgres.timeout_ms"] = "\(job.timeout)"
            self.logger.warning("postgres.query_timeout", metadata: metadata)
            self.dropConnection(reason: "a statement exceeded its \(job.timeout) ms timeout", headError: job.timeoutError())
        }
    }
}

/// Lays `values` out as a C array of NUL-terminated strings (NULL for nil) for `body`.
func withCStrings<R>(_ values: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    if values.isEmpty { return body(nil) }
    let copies: [UnsafeMutablePointer<CChar>?] = values.map { $0.flatMap { strdup($0) } }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { $0.map { UnsafePointer($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}
