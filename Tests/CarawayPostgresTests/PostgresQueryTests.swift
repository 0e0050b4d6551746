import Testing
import CarawayLoop
@testable import CarawayPostgres

/// PostgresConnection+Query against a real server: parameters, errors, order, transactions,
/// timeouts.
@Suite(.sharedPostgresServer) struct PostgresQueryTests {
    @Test func aParameterisedQueryRoundTripsNullUnicodeAndJsonb() throws {
        let h = try PostgresHarness()
        let conn = h.connection()
        try h.connect(conn)
        let text = "héllo wörld — 日本語 🐘 'quoted' \"double\" \\ back"
        let result = try h.query(conn, "SELECT $1::text AS missing, $2::text AS text, $3::jsonb AS doc, $4::int AS n, "
                                 + "$5::boolean AS flag, $3::jsonb -> 'list' ->> 2 AS third",
                                 [nil, text, #"{"list": [1, 2, "ü"], "nested": {"k": null}}"#, "42", "true"]).get()
        #expect(result.columns == ["missing", "text", "doc", "n", "flag", "third"])
        let row = try #require(result.rows.first)
        #expect(row["missing"] == nil && row.isNull("missing"))
        #expect(row["text"] == text)
        #expect(row["doc"] == #"{"list": [1, 2, "ü"], "nested": {"k": null}}"#)
        #expect(row.int("n") == 42 && row.bool("flag") == true && row["third"] == "ü")
        #expect(result.affectedRows == 1 && result.command == "SELECT 1")
        conn.close()
    }

    @Test func aServerErrorCarriesItsSqlStateAndTheConnectionStaysUsable() throws {
        let h = try PostgresHarness()
        let conn = h.connection()
        try h.connect(conn)
        _ = try h.query(conn, "CREATE TABLE items (id int PRIMARY KEY, name text)").get()
        let insert = try h.query(conn, "INSERT INTO items VALUES ($1, $2)", ["1", "a"]).get()
        #expect(insert.affectedRows == 1)
        let duplicate = try h.query(conn, "INSERT INTO items VALUES ($1, $2)", ["1", "b"])
        guard case .failure(.server(let sqlState, let message, let detail)) = duplicate else {
            Issue.record("expected a unique violation, got \(duplicate)")
            return
        }
        #expect(sqlState == "23505" && message.contains("items_pkey") && detail?.contains("(id)=(1)") == true)
        let syntax = try h.query(conn, "SELEC 1")
        #expect((try? syntax.get()) == nil && syntax.error?.sqlState == "42601")
        let after = try h.query(conn, "SELECT count(*)::int AS n FROM items").get()
        #expect(after.rows.first?.int("n") == 1)
        #expect(conn.isReady && conn.reconnects == 0)
        conn.close()
    }

    @Test func queriesQueueAndCompleteInTheOrderTheyWereIssued() throws {
        let h = try PostgresHarness()
        let conn = h.connection()
        try h.connect(conn)
        var order: [Int] = []
        for i in 0..<50 {
            // Every fifth fails on the server; order holds regardless.
            let sql = i % 5 == 4 ? "SELECT 1/0 AS n, $1::int" : "SELECT $1::int AS n"
            conn.query(sql, [String(i)]) { result in
                order.append(i)
                if i % 5 != 4 { #expect((try? result.get())?.rows.first?.int("n") == i) }
            }
        }
        #expect(conn.queuedJobs == 50)
        try h.run("50 completions") { order.count == 50 }
        #expect(order == Array(0..<50))
        conn.close()
    }

    @Test func aStatementLargerThanTheSocketBufferIsFlushedWhenWritable() throws {
        let h = try PostgresHarness(privateServer: true)
        let conn = h.connection()
        try h.connect(conn)
        // With the server frozen nothing drains the socket, so 24 MiB cannot fit the kernel's
        // buffers (a few MiB each side on loopback).
        let big = String(repeating: "0123456789abcdef", count: 3 << 19)
        h.server.pause()
        var outcome: Result<PostgresResult, PostgresError>?
        conn.query("SELECT length($1)::int AS n", [big]) { outcome = $0 }
        #expect(conn.flushPending)  // PQflush returned 1: the rest waits for the socket
        h.spin(seconds: 0.05)
        h.server.resume()
        try h.run("the big statement") { outcome != nil }
        let row = try #require(try outcome?.get().rows.first)
        #expect(row.int("n") == big.utf8.count && !conn.flushPending)
        conn.close()
    }

    @Test func aTransactionCommitsAllItsStatements() throws {
        let h = try PostgresHarness()
        let conn = h.connection()
        try h.connect(conn)
        _ = try h.query(conn, "CREATE TABLE ledger (id int PRIMARY KEY, amount int NOT NULL)").get()
        var outcome: Result<[PostgresResult], PostgresError>?
        conn.transaction([
            ("INSERT INTO ledger VALUES ($1, $2)", ["1", "10"]),
            ("INSERT INTO ledger VALUES ($1, $2)", ["2", "-4"]),
            ("SELECT sum(amount)::int AS total FROM ledger", []),
        ]) { outcome = $0 }
        try h.run("the transaction") { outcome != nil }
        let results = try #require(try outcome?.get())
        #expect(results.count == 3 && results[2].rows.first?.int("total") == 6)
        let committed = try h.query(conn, "SELECT count(*)::int AS n FROM ledger").get()
        #expect(committed.rows.first?.int("n") == 2)
        conn.close()
    }

    @Test func aFailingStatementRollsTheWholeTransactionBackAndNothingInterleaves() throws {
        let h = try PostgresHarness()
        let conn = h.connection()
        try h.connect(conn)
        _ = try h.query(conn, "CREATE TABLE ledger (id int PRIMARY KEY)").get()
        var events: [String] = []
        var outcome: Result<[PostgresResult], PostgresError>?
        conn.transaction([
            ("INSERT INTO ledger VALUES ($1)", ["1"]),
            ("INSERT INTO ledger VALUES ($1)", ["2"]),
            ("INSERT INTO ledger VALUES ($1)", ["1"]),
            ("INSERT INTO ledger VALUES ($1)", ["3"]),
        ]) { result in
            outcome = result
            events.append("transaction")
        }
        // Issued while the transaction is queued: it must run after ROLLBACK, outside it. Inside,
        // it would see rows 1 and 2 (before the failure) or fail with 25P02 (after it).
        var seen: Result<PostgresResult, PostgresError>?
        conn.query("SELECT count(*)::int AS n FROM ledger") { result in
            seen = result
            events.append("query")
        }
        try h.run("both completions") { events.count == 2 }
        #expect(events == ["transaction", "query"])
        #expect(outcome?.error?.sqlState == "23505")
        #expect((try? seen?.get())?.rows.first?.int("n") == 0)
        conn.close()
    }

    @Test func aQueryExceedingItsTimeoutFailsWithTimeoutAndTheConnectionRecovers() throws {
        let h = try PostgresHarness()
        let conn = h.connection()
        try h.connect(conn)
        var outcome: Result<PostgresResult, PostgresError>?
        var queued: Result<PostgresResult, PostgresError>?
        let start = EventLoop.hrtime
        conn.query("SELECT pg_sleep(2)", timeout: 200) { outcome = $0 }
        conn.query("SELECT 1") { queued = $0 }
        try h.run("the timeout") { outcome != nil }
        let elapsed = Double(EventLoop.hrtime - start) / 1e6
        #expect(outcome?.error == .timeout(milliseconds: 200))
        #expect(elapsed >= 190 && elapsed < 1_000, "timed out after \(elapsed) ms")
        #expect(queued?.error == .notConnected(h.endpoint))
        try h.run("the reconnect") { conn.isReady }
        let after = try h.query(conn, "SELECT 7 AS n").get()
        #expect(after.rows.first?.int("n") == 7 && conn.reconnects == 1)
        #expect(h.logs.count("postgres.query_timeout", at: .warning) == 1)
        conn.close()
    }

    @Test func losingTheConnectionMidTransactionReportsConnectionLostAndNoCommit() throws {
        let h = try PostgresHarness()
        let victim = h.connection("victim")
        let killer = h.connection("killer")
        try h.connect(victim, killer)
        let pid = try #require(try h.query(victim, "SELECT pg_backend_pid()::text AS pid").get().rows.first?["pid"])
        var outcome: Result<[PostgresResult], PostgresError>?
        victim.transaction([("SELECT pg_sleep(5)", [])]) { outcome = $0 }
        LoopTimer.once(loop: h.loop, after: 100) {
            killer.query("SELECT pg_terminate_backend($1::int)", [pid]) { _ in }
        }
        try h.run("the terminated transaction") { outcome != nil }
        guard case .failure(.connectionLost(_, let reason)) = outcome else {
            Issue.record("expected connectionLost, got \(String(describing: outcome))")
            return
        }
        #expect(reason.contains("57P01") && reason.contains("COMMIT had not been sent"))
        try h.run("the reconnect") { victim.isReady }
        victim.close()
        killer.close()
    }

    @Test func closeFailsTheQueryInFlightAndQueuedOnesExactlyOnce() throws {
        let h = try PostgresHarness()
        let conn = h.connection()
        try h.connect(conn)
        var outcomes: [Result<PostgresResult, PostgresError>] = []
        conn.query("SELECT pg_sleep(5)") { outcomes.append($0) }
        conn.query("SELECT 1") { outcomes.append($0) }
        try h.run("the sleep to be sent") { conn.awaitingResult }
        conn.close()
        #expect(outcomes.count == 2)
        if case .failure(.connectionLost(_, let reason)) = outcomes.first {
            #expect(reason.contains("closed by its owner"))
        } else {
            Issue.record("expected connectionLost, got \(String(describing: outcomes.first))")
        }
        #expect(outcomes.last?.error == .notConnected(h.endpoint))
        // Nothing fires twice, and the closed connection stays down.
        h.spin(seconds: 0.3)
        #expect(outcomes.count == 2 && conn.state == .closed)
    }
}

extension Result {
    var error: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
