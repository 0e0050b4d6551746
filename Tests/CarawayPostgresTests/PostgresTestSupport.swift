import Foundation
import Logging
import Testing
import CarawayLoop
import CarawayTestSupport
@testable import CarawayPostgres

/// A server for one test, a loop and a log recorder; connections made here log into the
/// recorder.
///
/// By default the test gets its own schema on the suite's shared server (see
/// ``SharedPostgresServer``): a server costs 0.2–1 s to start, a schema a millisecond. Tests
/// that restart or freeze the server ask for a private one.
final class PostgresHarness {
    let server: TestPostgresServer
    let loop: EventLoop
    let logs = LogRecorder()
    let endpoint: PostgresEndpoint
    private let ownsServer: Bool

    init(privateServer: Bool = false) throws {
        loop = try EventLoop()
        if !privateServer, let shared = SharedPostgresServer.current {
            server = shared
            ownsServer = false
            var endpoint = try PostgresEndpoint.parse(shared.url)
            let schema = "test_\(UInt64.random(in: 0...UInt64.max))"
            endpoint.options["options"] = "-c search_path=\(schema)"
            self.endpoint = endpoint
            let setup = PostgresConnection(loop: loop, endpoint: endpoint, name: "setup", logger: logs.logger())
            try connect(setup)
            _ = try query(setup, "CREATE SCHEMA \(schema)").get()
            setup.close()
        } else {
            server = try TestPostgresServer()
            ownsServer = true
            endpoint = try PostgresEndpoint.parse(server.url)
        }
    }

    func connection(_ name: String = "test", queryTimeout: UInt64 = 10_000) -> PostgresConnection {
        PostgresConnection(loop: loop, endpoint: endpoint, name: name, logger: logs.logger(), queryTimeout: queryTimeout)
    }

    /// Connects each connection and runs the loop until all are ready.
    func connect(_ connections: PostgresConnection...) throws {
        for connection in connections { connection.connect() }
        try run("every connection ready") { connections.allSatisfy(\.isReady) }
    }

    /// Runs the loop until `done` holds; throws, naming what it waited for, after `seconds`.
    func run(_ what: String, seconds: Double = 10, until done: () -> Bool) throws {
        let deadline = EventLoop.hrtime + UInt64(seconds * 1e9)
        let tick = LoopTimer(loop: loop)
        tick.start(after: 5, repeat: 5) {}
        defer { tick.close() }
        while !done() {
            guard EventLoop.hrtime < deadline else { throw Timeout(what: what, seconds: seconds) }
            loop.runOnce(block: true)
        }
    }

    /// Runs the loop for `seconds` (for checks that something does *not* happen).
    func spin(seconds: Double) {
        let deadline = EventLoop.hrtime + UInt64(seconds * 1e9)
        let tick = LoopTimer(loop: loop)
        tick.start(after: 5, repeat: 5) {}
        defer { tick.close() }
        while EventLoop.hrtime < deadline { loop.runOnce(block: true) }
    }

    /// Runs one query to completion.
    func query(_ connection: PostgresConnection, _ sql: String, _ parameters: [String?] = [])
        throws -> Result<PostgresResult, PostgresError> {
        var outcome: Result<PostgresResult, PostgresError>?
        connection.query(sql, parameters) { outcome = $0 }
        try run("the result of \(sql)") { outcome != nil }
        return outcome!
    }

    deinit {
        if ownsServer { server.stop() }
    }
}

/// Starts one server for a whole suite and stops it when the suite ends (even when a test
/// fails); tests reach it through ``current``.
struct SharedPostgresServer: SuiteTrait, TestScoping {
    @TaskLocal static var current: TestPostgresServer?

    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?,
                      performing function: @Sendable () async throws -> Void) async throws {
        let server = try TestPostgresServer()
        defer { server.stop() }
        try await Self.$current.withValue(server) { try await function() }
    }
}

extension Trait where Self == SharedPostgresServer {
    /// One Postgres server for every test of the suite, each test in its own schema.
    static var sharedPostgresServer: Self { Self() }
}

struct Timeout: Error, CustomStringConvertible {
    let what: String
    let seconds: Double
    var description: String { "waited \(seconds) s for \(what)" }
}

/// Keeps what connections log, for tests that assert on log events.
final class LogRecorder: @unchecked Sendable {
    struct Entry {
        let level: Logger.Level
        let message: String
        let metadata: Logger.Metadata
    }

    private let lock = NSLock()
    private var stored: [Entry] = []

    var entries: [Entry] { lock.withLock { stored } }

    func append(_ entry: Entry) { lock.withLock { stored.append(entry) } }

    func logger() -> Logger {
        var logger = Logger(label: "caraway.postgres.test") { _ in RecordingLogHandler(recorder: self) }
        logger.logLevel = .trace
        return logger
    }

    func count(_ message: String, at level: Logger.Level) -> Int {
        entries.filter { $0.message == message && $0.level == level }.count
    }
}

struct RecordingLogHandler: LogHandler {
    let recorder: LogRecorder
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        recorder.append(.init(level: level, message: message.description,
                              metadata: self.metadata.merging(metadata ?? [:]) { $1 }))
    }
}
