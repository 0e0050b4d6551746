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

/// `caraway schedule …`: manage the shared schedule table directly in Postgres. Validation is the
/// REST API's (`ScheduleBody`), so a schedule the CLI accepts is one the API accepts, and the beat
/// leader picks every change up within a second (NOTIFY).
struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule", abstract: "Manage periodic schedules (interval, crontab, one-off).",
        subcommands: [Add.self, List.self, Show.self, Update.self, Enable.self, Disable.self, Run.self, Remove.self])

    struct Connection: ParsableArguments {
        @Option(help: "Postgres URL (env CARAWAY_DATABASE_URL).") var database: String?
        @Flag(help: "Print JSON instead of text.") var json = false

        func endpoint() throws -> PostgresEndpoint {
            guard let url = database ?? env("DATABASE_URL") else {
                throw ValidationError("--database (or CARAWAY_DATABASE_URL) is required")
            }
            do { return try PostgresEndpoint.parse(url) } catch { throw ValidationError("--database: \(error)") }
        }
    }

    /// Fields settable from flags; nil = not given.
    struct Fields: ParsableArguments {
        @Option(help: "Task name, e.g. caraway.add.") var task: String?
        @Option(help: "Positional arguments as a JSON array.") var args: String?
        @Option(help: "Keyword arguments as a JSON object.") var kwargs: String?
        @Option(help: "Queue (default: routes, else celery).") var queue: String?
        @Option(help: "Interval in seconds.") var every: Double?
        @Option(help: "Crontab expression: 'min hour dom month dow'.") var cron: String?
        @Option(help: "IANA time zone for --cron (default UTC).") var timezone: String?
        @Option(help: "One-off: run once at this ISO-8601 time.") var at: String?
        @Option(help: "Misfire policy: skip, once, catch_up:N.") var misfire: String?
        @Flag(inversion: .prefixedNo, help: "No new run while the previous one is unfinished.") var singleton: Bool?
        @Option(help: "Description.") var description: String?
        @Option(help: "Do not fire before this ISO-8601 time.") var startAt: String?
        @Option(help: "Do not fire after this ISO-8601 time.") var endAt: String?

        func body(name: String?, enabled: Bool?) throws -> JSONObject {
            var o = JSONObject()
            if let name { o["name"] = .string(name) }
            if let task { o["task"] = .string(task) }
            if let args { o["args"] = try parse(args, "--args") }
            if let kwargs { o["kwargs"] = try parse(kwargs, "--kwargs") }
            if let queue { o["queue"] = .string(queue) }
            let kinds = [every != nil, cron != nil, at != nil].filter { $0 }.count
            if kinds > 1 { throw ValidationError("give one of --every, --cron, --at") }
            if let every { o["schedule"] = ["kind": "interval", "every": JSON(every)] }
            if let cron { o["schedule"] = ["kind": "crontab", "expression": .string(cron), "timezone": .string(timezone ?? "UTC")] }
            if let at { o["schedule"] = ["kind": "one_off", "at": .string(at)] }
            if timezone != nil && cron == nil { throw ValidationError("--timezone goes with --cron") }
            if let misfire { o["misfire"] = .string(misfire) }
            if let singleton { o["singleton"] = .bool(singleton) }
            if let description { o["description"] = .string(description) }
            if let startAt { o["start_at"] = .string(startAt) }
            if let endAt { o["end_at"] = .string(endAt) }
            if let enabled { o["enabled"] = .bool(enabled) }
            return o
        }

        private func parse(_ text: String, _ flag: String) throws -> JSON {
            do { return try JSON.parse(text) } catch { throw ValidationError("\(flag) is not valid JSON: \(error)") }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a schedule.")
        @Argument(help: "Unique schedule name.") var name: String
        @OptionGroup var fields: Fields
        @Flag(help: "Create it disabled.") var disabled = false
        @OptionGroup var connection: Connection
        func run() throws {
            let body = try fields.body(name: name, enabled: disabled ? false : nil)
            try ScheduleSession.run(connection) { session, done in
                session.definition(body, base: nil) { definition in
                    session.store.scheduleInsert(definition) { done(session.printing($0.map(Optional.some))) }
                } failed: { done(1) }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List schedules.")
        @OptionGroup var connection: Connection
        func run() throws {
            try ScheduleSession.run(connection) { session, done in
                session.store.scheduleList { result in
                    switch result {
                    case .success(let rows):
                        if session.json {
                            print(JSON.object(["schedules": .array(rows.map(\.json))]).serializedString())
                        } else {
                            print("ID  NAME  TASK  SCHEDULE  ENABLED  NEXT RUN  RUNS  LAST STATUS")
                            for r in rows {
                                print("\(r.id)  \(r.name)  \(r.task)  \(r.schedule.serializedString())  \(r.enabled)  \(r.nextRunAt.map(Timestamp.format) ?? "-")  \(r.totalRunCount)  \(r.lastStatus ?? "-")")
                            }
                        }
                        done(0)
                    case .failure(let error):
                        fputs("caraway: \(error)\n", caraway_stderr())
                        done(1)
                    }
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one schedule (by name or id).")
        @Argument var schedule: String
        @OptionGroup var connection: Connection
        func run() throws {
            try ScheduleSession.run(connection) { session, done in
                session.find(schedule) { row in done(session.printing(.success(row))) } failed: { done(1) }
            }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change fields of a schedule (by name or id).")
        @Argument var schedule: String
        @Option(help: "New name.") var rename: String?
        @OptionGroup var fields: Fields
        @OptionGroup var connection: Connection
        func run() throws {
            let body = try fields.body(name: rename, enabled: nil)
            try ScheduleSession.run(connection) { session, done in
                session.find(schedule) { row in
                    session.definition(body, base: ScheduleDefinition(record: row)) { definition in
                        session.store.scheduleUpdate(id: row.id, definition) { done(session.printing($0)) }
                    } failed: { done(1) }
                } failed: { done(1) }
            }
        }
    }

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a schedule (its cadence restarts from now).")
        @Argument var schedule: String
        @OptionGroup var connection: Connection
        func run() throws { try ScheduleSession.setEnabled(schedule, true, connection) }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a schedule.")
        @Argument var schedule: String
        @OptionGroup var connection: Connection
        func run() throws { try ScheduleSession.setEnabled(schedule, false, connection) }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a schedule.")
        @Argument var schedule: String
        @OptionGroup var connection: Connection
        func run() throws {
            try ScheduleSession.run(connection) { session, done in
                session.find(schedule) { row in
                    session.store.scheduleDelete(id: row.id) { result in
                        if case .success(true) = result { print("removed \(row.name)"); done(0) } else { done(session.printing(result.map { _ in nil })) }
                    }
                } failed: { done(1) }
            }
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a schedule's task now, outside its cadence.")
        @Argument var schedule: String
        @Option(help: "Redis URL (env CARAWAY_REDIS_URL).") var redis: String?
        @OptionGroup var connection: Connection
        func run() throws {
            let url = redis ?? env("REDIS_URL") ?? "redis://127.0.0.1:6379/0"
            let endpoint: RedisEndpoint
            do { endpoint = try RedisEndpoint.parse(url) } catch { throw ValidationError("\(error)") }
            try ScheduleSession.run(connection, redis: endpoint) { session, done in
                session.find(schedule) { row in
                    let id = makeUUID()
                    let target = row.queue ?? "celery"
                    var draft = CeleryMessage.Draft(task: row.task, id: id, args: row.args.arrayValue ?? [], kwargs: row.kwargs.objectValue ?? [:], queue: target)
                    draft.extraHeaders = ["periodic_task_name": .string(row.name), "caraway_schedule_id": JSON(Int(row.id))]
                    session.redis?.send(bytes: [Array("LPUSH".utf8), Array(target.utf8), draft.encodedEnvelope(deliveryTag: makeUUID())]) { result in
                        if case .failure(let error) = result { fputs("caraway: \(error)\n", caraway_stderr()); done(1) } else { print(id); done(0) }
                    }
                } failed: { done(1) }
            }
        }
    }
}
