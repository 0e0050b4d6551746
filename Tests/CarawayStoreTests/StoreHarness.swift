import Foundation
import Logging
import CarawayLoop
import CarawayPostgres
import CarawayTestSupport
@testable import CarawayStore

import Testing

/// One private Postgres per suite, stopped when the suite ends; each test gets a fresh database.
struct SuitePostgres: SuiteTrait, TestScoping {
    @TaskLocal static var current: TestPostgresServer?
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let server = try TestPostgresServer()
        defer { server.stop() }
        try await Self.$current.withValue(server) { try await function() }
    }
}

extension Trait where Self == SuitePostgres {
    static var suitePostgres: Self { Self() }
}

final class StoreHarness {
    let loop: EventLoop
    let endpoint: PostgresEndpoint
    var connections: [PostgresConnection] = []

    init() throws {
        guard let server = SuitePostgres.current else { throw HarnessTimeout(what: "a suite Postgres (add .suitePostgres)") }
        loop = try EventLoop()
        let admin = PostgresConnection(loop: loop, endpoint: try PostgresEndpoint.parse(server.url), name: "admin", logger: Logger(label: "test"))
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        var created: Result<PostgresResult, PostgresError>?
        admin.onReady = { admin.query("CREATE DATABASE \(name)") { created = $0 } }
        admin.connect()
        try Self.run(loop, "CREATE DATABASE") { created != nil }
        if case .failure(let error) = created { throw error }
        admin.close()
        endpoint = try PostgresEndpoint.parse("postgres://postgres@127.0.0.1:\(server.port)/\(name)")
    }

    /// A ready store on its own connection.
    func store() throws -> Store {
        let connection = PostgresConnection(loop: loop, endpoint: endpoint, name: "s\(connections.count)", logger: Logger(label: "test"))
        connections.append(connection)
        connection.connect()
        try Self.run(loop, "connection ready") { connection.isReady }
        return Store(connection: connection)
    }

    /// Runs `operation` and the loop until its completion fires; returns the result.
    func wait<T>(_ what: String, _ operation: (@escaping (Result<T, PostgresError>) -> Void) -> Void) throws -> T {
        var outcome: Result<T, PostgresError>?
        operation { outcome = $0 }
        try Self.run(loop, what) { outcome != nil }
        return try outcome!.get()
    }

    static func run(_ loop: EventLoop, _ what: String, seconds: Double = 10, until done: () -> Bool) throws {
        let deadline = EventLoop.hrtime + UInt64(seconds * 1e9)
        let tick = LoopTimer(loop: loop)
        tick.start(after: 5, repeat: 5) {}
        defer { tick.close() }
        while !done() {
            if EventLoop.hrtime > deadline { throw HarnessTimeout(what: what) }
            loop.runOnce(block: true)
        }
    }

    struct HarnessTimeout: Error, CustomStringConvertible {
        let what: String
        var description: String { "timed out waiting for \(what)" }
    }

    deinit { for c in connections { c.close() } }
}
