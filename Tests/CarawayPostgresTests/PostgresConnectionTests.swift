import Testing
import Logging
import CarawayLoop
import CarawayTestSupport
@testable import CarawayPostgres

/// PostgresConnection's life against a real server: connect, outage, reconnect, two
/// connections on one loop, notices.
@Suite(.sharedPostgresServer) struct PostgresConnectionTests {
    @Test func queriesBeforeConnectFailAtOnceWithNotConnected() throws {
        let loop = try EventLoop()
        let endpoint = PostgresEndpoint(host: "127.0.0.1", port: 1)
        let conn = PostgresConnection(loop: loop, endpoint: endpoint, name: "idle", logger: Logger(label: "test"))
        var query: Result<PostgresResult, PostgresError>?
        var transaction: Result<[PostgresResult], PostgresError>?
        var listen: Result<Void, PostgresError>?
        conn.query("SELECT 1") { query = $0 }
        conn.transaction([("SELECT 1", [])]) { transaction = $0 }
        conn.listen("later") { listen = $0 }
        #expect(query?.error == .notConnected(endpoint))
        #expect(transaction?.error == .notConnected(endpoint))
        #expect(listen?.error == .notConnected(endpoint))
        #expect(conn.listenedChannels == ["later"] && conn.state == .idle)
        conn.close()
    }

    @Test func aRefusedConnectRetriesWithBackoffAndWarnsOnlyOnce() throws {
        let loop = try EventLoop()
        let logs = LogRecorder()
        let port = try TestRedisServer.freePort()
        let conn = PostgresConnection(loop: loop, endpoint: PostgresEndpoint(host: "127.0.0.1", port: port),
                                      name: "refused", logger: logs.logger())
        conn.connect()
        let deadline = EventLoop.hrtime + 500_000_000
        let tick = LoopTimer(loop: loop)
        tick.start(after: 5, repeat: 5) {}
        while EventLoop.hrtime < deadline { loop.runOnce(block: true) }
        tick.close()
        // 50, 100, 200 ms (+ jitter): three or four attempts in half a second.
        let attempts = logs.entries.filter { $0.message == "postgres.connect_failed" }
        #expect(attempts.count >= 3 && attempts.count <= 5)
        #expect(attempts.first?.level == .warning && attempts.dropFirst().allSatisfy { $0.level == .debug })
        #expect(attempts.first?.metadata["postgres.reason"]?.description.contains("refused") == true)
        #expect(!conn.isReady && conn.state == .backingOff)
        conn.close()
        #expect(conn.state == .closed)
    }

    @Test func theConnectionComesBackAfterARestartAndQueriesWhileDownFailFast() throws {
        let h = try PostgresHarness(privateServer: true)
        let conn = h.connection("outage")
        var readies = 0
        var disconnect: PostgresError?
        var whileDown: Result<PostgresResult, PostgresError>?
        conn.onReady = { readies += 1 }
        conn.onDisconnect = { error in
            disconnect = error
            conn.query("SELECT 1") { whileDown = $0 }
        }
        try h.connect(conn)
        try h.server.restart()
        try h.run("the reconnect after the restart") { readies == 2 }
        #expect(whileDown?.error == .notConnected(h.endpoint))
        guard case .connectionLost = disconnect else {
            Issue.record("expected connectionLost, got \(String(describing: disconnect))")
            return
        }
        let after = try h.query(conn, "SELECT 'back' AS state").get()
        #expect(after.rows.first?["state"] == "back" && conn.reconnects == 1)
        #expect(h.logs.count("postgres.disconnected", at: .warning) == 1)
        let reconnected = h.logs.entries.filter { $0.message == "postgres.reconnected" }
        #expect(reconnected.count == 1 && reconnected.first?.level == .info)
        #expect(reconnected.first?.metadata["postgres.connection"] == "outage")
        #expect(reconnected.first?.metadata["postgres.endpoint"] == "\(h.endpoint)")
        conn.close()
    }

    @Test func aConnectAttemptToAFrozenServerTimesOutAndSucceedsOnceItThaws() throws {
        let h = try PostgresHarness(privateServer: true)
        let conn = h.connection("frozen")
        conn.connectTimeout = 200
        h.server.pause()
        conn.connect()
        h.spin(seconds: 0.5)
        #expect(!conn.isReady)
        let failures = h.logs.entries.filter { $0.message == "postgres.connect_failed" }
        #expect(failures.first?.level == .warning)
        #expect(failures.first?.metadata["postgres.reason"]?.description.contains("200 ms") == true)
        h.server.resume()
        try h.run("the connect after resume") { conn.isReady }
        #expect(conn.reconnects == 0)
        #expect(h.logs.count("postgres.connect_failed", at: .warning) == 1)
        conn.close()
    }

    @Test func anAdvisoryLockHeldByOneConnectionBlocksAnotherOnTheSameLoop() throws {
        let h = try PostgresHarness()
        let holder = h.connection("holder")
        let waiter = h.connection("waiter")
        try h.connect(holder, waiter)
        _ = try h.query(holder, "SELECT pg_advisory_lock($1::bigint)", ["4242"]).get()
        let attempt = try h.query(waiter, "SELECT pg_try_advisory_lock($1::bigint) AS got", ["4242"]).get()
        #expect(attempt.rows.first?.bool("got") == false)

        // The waiter blocks in the server while the holder keeps working on the same loop.
        var events: [String] = []
        waiter.query("SELECT pg_advisory_lock($1::bigint)", ["4242"]) { result in
            events.append((try? result.get()) != nil ? "waiter locked" : "waiter failed")
        }
        for i in 0..<3 {
            holder.query("SELECT pg_sleep(0.05)") { _ in events.append("holder \(i)") }
        }
        holder.query("SELECT pg_advisory_unlock($1::bigint)", ["4242"]) { _ in events.append("holder unlocked") }
        try h.run("the waiter's lock and the holder's work") { events.count == 5 }
        // The holder's work all finished while the waiter was blocked; the unlock and the lock
        // it releases answer at about the same time, in either order.
        #expect(events.prefix(3) == ["holder 0", "holder 1", "holder 2"])
        #expect(Set(events.dropFirst(3)) == ["holder unlocked", "waiter locked"])
        let held = try h.query(holder, "SELECT pg_try_advisory_lock($1::bigint) AS got", ["4242"]).get()
        #expect(held.rows.first?.bool("got") == false)
        holder.close()
        waiter.close()
    }

    @Test func serverNoticesAreLoggedAtDebugInsteadOfPrinted() throws {
        let h = try PostgresHarness()
        let conn = h.connection()
        try h.connect(conn)
        _ = try h.query(conn, "DO $$ BEGIN RAISE NOTICE 'caraway says hello'; END $$").get()
        let notices = h.logs.entries.filter { $0.message == "postgres.notice" }
        #expect(notices.count == 1 && notices.first?.level == .debug)
        #expect(notices.first?.metadata["postgres.message"] == "caraway says hello")
        #expect(notices.first?.metadata["postgres.severity"] == "NOTICE")
        conn.close()
    }
}
