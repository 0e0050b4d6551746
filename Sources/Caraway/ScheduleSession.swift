import ArgumentParser
import CCaraway
import CarawayLoop
import CarawayPostgres
import CarawayProtocol
import CarawayRedis
import CarawayStore
import CarawayWorker
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// A one-shot loop for one `caraway schedule` command: connect, run, print, exit.
final class ScheduleSession {
    let loop: EventLoop
    let store: Store
    let redis: RedisConnection?
    let json: Bool
    private var exitCode: Int32 = 0

    private init(endpoint: PostgresEndpoint, redis: RedisEndpoint?, json: Bool, logger: Logger) throws {
        let loop = try EventLoop()
        self.loop = loop
        store = Store(connection: PostgresConnection(loop: loop, endpoint: endpoint, name: "cli", logger: logger))
        self.redis = redis.map { RedisConnection(loop: loop, endpoint: $0, name: "cli", logger: logger) }
        self.json = json
    }

    static func run(_ connection: ScheduleCommand.Connection, redis: RedisEndpoint? = nil,
                    _ body: @escaping (ScheduleSession, @escaping (Int32) -> Void) -> Void) throws {
        LoggingSystem.bootstrap { LineLogHandler(label: $0, format: .human, level: .error) }
        let session = try ScheduleSession(endpoint: try connection.endpoint(), redis: redis, json: connection.json, logger: Logger(label: "caraway.schedule"))
        let code = session.start(body)
        if code != 0 { throw ExitCode(code) }
    }

    private func start(_ body: @escaping (ScheduleSession, @escaping (Int32) -> Void) -> Void) -> Int32 {
        var started = false
        let finish: (Int32) -> Void = { [unowned self] code in
            exitCode = code
            store.connection.close()
            redis?.close()
            loop.closeAllHandles()
        }
        let go = { [unowned self] in
            guard !started, store.connection.isReady, redis?.isReady ?? true else { return }
            started = true
            // Migrate first: the CLI may be the first thing to touch a fresh database.
            store.migrate { [unowned self] result in
                if case .failure(let error) = result { self.fail("\(error)"); finish(1); return }
                body(self, finish)
            }
        }
        store.connection.onReady = go
        redis?.onReady = go
        store.connection.connect()
        redis?.connect()
        LoopTimer.once(loop: loop, after: 10_000) { [unowned self] in
            if !started { self.fail("could not reach Postgres\(redis == nil ? "" : " and Redis") within 10 s"); finish(2) }
        }.setKeepsLoopAlive(false)
        loop.run()
        return exitCode
    }

    func fail(_ message: String) { fputs("caraway: \(message)\n", caraway_stderr()) }

    /// Validates `body` exactly as the REST API does.
    func definition(_ body: JSONObject, base: ScheduleDefinition?, _ then: (ScheduleDefinition) -> Void, failed: () -> Void) {
        do {
            then(try ScheduleBody.definition(from: body, base: base, registry: Caraway.registry, now: SystemClock().now))
        } catch {
            fail("\(error.field.map { "\($0): " } ?? "")\(error.message)")
            failed()
        }
    }

    /// By id when numeric, else by name.
    func find(_ key: String, _ then: @escaping (ScheduleRecord) -> Void, failed: @escaping () -> Void) {
        let handle: (Result<ScheduleRecord?, PostgresError>) -> Void = { [unowned self] result in
            switch result {
            case .success(let row?): then(row)
            case .success(nil): fail("no schedule '\(key)'"); failed()
            case .failure(let error): fail("\(error)"); failed()
            }
        }
        if let id = Int64(key) { store.scheduleGet(id: id, handle) } else { store.scheduleGet(name: key, handle) }
    }

    /// Prints a row (JSON or text) or the error; returns the exit code.
    func printing(_ result: Result<ScheduleRecord?, PostgresError>) -> Int32 {
        switch result {
        case .success(let row?):
            if json {
                print(row.json.serializedString())
            } else {
                for (key, value) in row.json.objectValue ?? [:] { print("\(key): \(value.stringValue ?? value.serializedString())") }
            }
            return 0
        case .success(nil):
            fail("no such schedule")
            return 1
        case .failure(.server(let state, let message, _)) where state == "23505":
            fail("a schedule with that name exists (\(message))")
            return 1
        case .failure(let error):
            fail("\(error)")
            return 1
        }
    }

    static func setEnabled(_ key: String, _ enabled: Bool, _ connection: ScheduleCommand.Connection) throws {
        try run(connection) { session, done in
            session.find(key) { row in
                var definition = ScheduleDefinition(record: row)
                definition.enabled = enabled
                if enabled && !row.enabled { definition.nextRunAt = nil }
                session.store.scheduleUpdate(id: row.id, definition) { done(session.printing($0)) }
            } failed: { done(1) }
        }
    }
}
