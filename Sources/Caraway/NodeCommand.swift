import ArgumentParser
import CarawayPostgres
import CarawayProtocol
import CarawayRedis
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `caraway node`: run a worker node. Flags win over `CARAWAY_*` environment variables, which win
/// over defaults.
struct NodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "node", abstract: "Run a Caraway node (worker + beat candidate).")

    @Option(help: "Redis URL (env CARAWAY_REDIS_URL; default redis://127.0.0.1:6379/0).") var redis: String?
    @Option(help: "Node name (env CARAWAY_NAME; default celery@<hostname>).") var name: String?
    @Option(help: "Child processes (env CARAWAY_CONCURRENCY; default: number of CPUs).") var concurrency: Int?
    @Option(help: "Comma-separated queues to consume (env CARAWAY_QUEUES; default celery).") var queues: String?
    @Option(help: "Recycle a child after N tasks (env CARAWAY_MAX_TASKS_PER_CHILD).") var maxTasksPerChild: Int?
    @Option(help: "Recycle a child whose peak RSS passes this many KiB (env CARAWAY_MAX_MEMORY_PER_CHILD).") var maxMemoryPerChild: Int?
    @Option(help: "HTTP listen address HOST:PORT, or 'off' (env CARAWAY_HTTP; default 127.0.0.1:8008).") var http: String?
    @Option(help: "Log format: human or json (env CARAWAY_LOG_FORMAT).") var logFormat: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (env CARAWAY_LOG_LEVEL).") var logLevel: String?
    @Option(help: "Directory of scripts caraway.script may run (env CARAWAY_SCRIPTS_DIR).") var scriptsDir: String?
    @Option(help: "Dead-letter messages larger than this many bytes (env CARAWAY_MAX_MESSAGE_BYTES; default 8 MiB).") var maxMessageBytes: Int?
    @Option(help: "Dead-letter a message after this many runs lost with their child (env CARAWAY_MAX_DELIVERIES; default 5).") var maxDeliveries: Int?
    @Option(help: "Node lease in seconds; peers requeue a dead node's tasks after it (env CARAWAY_LEASE_SECONDS; default 5).") var leaseSeconds: Double?
    @Option(help: "Seconds SIGTERM waits for running tasks (env CARAWAY_SHUTDOWN_GRACE_SECONDS; default 60).") var shutdownGraceSeconds: Double?
    @Option(help: "Default soft time limit in seconds (env CARAWAY_SOFT_TIME_LIMIT).") var softTimeLimit: Double?
    @Option(help: "Default hard time limit in seconds (env CARAWAY_TIME_LIMIT).") var timeLimit: Double?
    @Option(help: "Result TTL in seconds, 0 = forever (env CARAWAY_RESULT_EXPIRES; default 86400).") var resultExpires: Int?
    @Option(help: "kombu global_keyprefix (env CARAWAY_KEY_PREFIX; default empty).") var keyPrefix: String?
    @Option(help: "Postgres URL for schedules, beat and history (env CARAWAY_DATABASE_URL; none: worker only).") var database: String?
    @Flag(help: "Do not take part in beat elections (env CARAWAY_NO_BEAT=1).") var noBeat = false
    @Option(help: "Beat lock TTL in seconds (env CARAWAY_BEAT_LOCK_TTL; default 10).") var beatLockTtl: Double?
    @Flag(help: "Do not record executions in Postgres (env CARAWAY_NO_HISTORY=1).") var noHistory = false
    @Option(help: "Days of execution history the leader keeps (env CARAWAY_HISTORY_RETENTION_DAYS; default 7; 0 = forever).") var historyRetentionDays: Double?
    @Option(help: "Bearer token for mutating API routes (env CARAWAY_ADMIN_TOKEN).") var adminToken: String?
    @Flag(help: "Send Celery task events from the start, like `celery worker -E` (env CARAWAY_TASK_EVENTS=1); Flower's enable_events also turns them on.") var taskEvents = false
    @Option(help: "Seconds an HTTP client has to send one whole request (env CARAWAY_HTTP_REQUEST_TIMEOUT; default 10).") var httpRequestTimeout: Double?
    @Option(help: "While tasks are held, poll this many microseconds after each wake-up before sleeping; 0 = off (env CARAWAY_BUSY_POLL_US; default 500).") var busyPollUs: Int?
    @Option(help: "Routes for chain steps and callbacks that name no queue: JSON {\"glob\": \"queue\"} (env CARAWAY_ROUTES).") var routes: String?

    func validate() throws {
        if let c = concurrency ?? env("CONCURRENCY").flatMap(Int.init), !(1...512).contains(c) {
            throw ValidationError("--concurrency must be between 1 and 512, got \(c)")
        }
        if let n = maxTasksPerChild, n < 1 { throw ValidationError("--max-tasks-per-child must be at least 1, got \(n)") }
        if let n = maxMemoryPerChild, n < 1 { throw ValidationError("--max-memory-per-child must be a positive number of KiB") }
        if let s = leaseSeconds, s < 1 { throw ValidationError("--lease-seconds must be at least 1") }
        if let n = maxDeliveries, n < 1 { throw ValidationError("--max-deliveries must be at least 1") }
        if let t = beatLockTtl, t < 1 { throw ValidationError("--beat-lock-ttl must be at least 1 second") }
        if let t = httpRequestTimeout, !(t > 0 && t <= 3600) { throw ValidationError("--http-request-timeout must be between 0 and 3600 seconds, got \(t)") }
        if let d = historyRetentionDays, d < 0 { throw ValidationError("--history-retention-days must not be negative") }
        if let us = busyPollUs ?? env("BUSY_POLL_US").flatMap(Int.init), !(0...100_000).contains(us) {
            throw ValidationError("--busy-poll-us must be between 0 and 100000, got \(us)")
        }
    }

    func run() throws {
        let configuration = try resolve()
        LoggingSystem.bootstrap { LineLogHandler(label: $0, format: configuration.logFormat, level: configuration.logLevel) }
        let logger = Logger(label: "caraway")
        let node = try Node(configuration: configuration, registry: Caraway.registry, logger: logger)
        let code = try node.run()
        Glibc.exit(code)
    }

    func resolve() throws -> NodeConfiguration {
        let url = redis ?? env("REDIS_URL") ?? "redis://127.0.0.1:6379/0"
        let endpoint: RedisEndpoint
        do { endpoint = try RedisEndpoint.parse(url) } catch { throw ValidationError("\(error)") }
        let queueList = (queues ?? env("QUEUES") ?? "celery").split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
        guard !queueList.isEmpty else { throw ValidationError("--queues needs at least one queue name") }
        for q in queueList where q.utf8.contains(where: { $0 <= 0x20 || $0 == 0x06 }) {
            throw ValidationError("queue name '\(q)' contains whitespace or control characters")
        }
        var host: String? = "127.0.0.1"
        var port = 8008
        let httpSetting = http ?? env("HTTP") ?? "127.0.0.1:8008"
        if httpSetting == "off" {
            host = nil
        } else {
            guard let colon = httpSetting.lastIndex(of: ":"), let p = Int(httpSetting[httpSetting.index(after: colon)...]), (0...65535).contains(p) else {
                throw ValidationError("--http must be HOST:PORT or 'off', got '\(httpSetting)'")
            }
            host = String(httpSetting[..<colon]).trimmingCharacters(in: "[]")
            port = p
        }
        let formatName = logFormat ?? env("LOG_FORMAT") ?? "human"
        guard let format = LineLogHandler.Format(rawValue: formatName) else { throw ValidationError("--log-format must be human or json, got '\(formatName)'") }
        let levelName = logLevel ?? env("LOG_LEVEL") ?? "info"
        guard let level = Logger.Level(rawValue: levelName) else { throw ValidationError("--log-level '\(levelName)' is not a log level") }
        let scripts = scriptsDir ?? env("SCRIPTS_DIR")
        if let scripts {
            var isDirectory = stat()
            guard stat(scripts, &isDirectory) == 0, (isDirectory.st_mode & S_IFMT) == S_IFDIR else {
                throw ValidationError("--scripts-dir '\(scripts)' is not a directory")
            }
        }
        var databaseEndpoint: PostgresEndpoint?
        if let url = database ?? env("DATABASE_URL"), !url.isEmpty {
            do { databaseEndpoint = try PostgresEndpoint.parse(url) } catch { throw ValidationError("--database: \(error)") }
        }
        let token = adminToken ?? env("ADMIN_TOKEN")
        if let host, !["127.0.0.1", "::1", "localhost"].contains(host), token == nil {
            throw ValidationError("--http \(host) is not a loopback address: set --admin-token (or CARAWAY_ADMIN_TOKEN) before exposing the API")
        }
        var configuration = NodeConfiguration(
            redis: endpoint,
            name: name ?? env("NAME") ?? "celery@\(Self.hostname())",
            concurrency: concurrency ?? env("CONCURRENCY").flatMap(Int.init) ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
            queues: queueList,
            maxTasksPerChild: maxTasksPerChild ?? env("MAX_TASKS_PER_CHILD").flatMap(Int.init),
            maxMemoryPerChildKiB: maxMemoryPerChild ?? env("MAX_MEMORY_PER_CHILD").flatMap(Int.init),
            httpHost: host, httpPort: port, logFormat: format, logLevel: level,
            scriptsDirectory: scripts,
            maxMessageBytes: maxMessageBytes ?? env("MAX_MESSAGE_BYTES").flatMap(Int.init) ?? 8 << 20,
            maxDeliveries: maxDeliveries ?? env("MAX_DELIVERIES").flatMap(Int.init) ?? 5,
            leaseSeconds: leaseSeconds ?? env("LEASE_SECONDS").flatMap(Double.init) ?? 5,
            shutdownGraceSeconds: shutdownGraceSeconds ?? env("SHUTDOWN_GRACE_SECONDS").flatMap(Double.init) ?? 60,
            softTimeLimit: softTimeLimit ?? env("SOFT_TIME_LIMIT").flatMap(Double.init),
            hardTimeLimit: timeLimit ?? env("TIME_LIMIT").flatMap(Double.init),
            resultExpires: resultExpires ?? env("RESULT_EXPIRES").flatMap(Int.init) ?? 86_400,
            keyPrefix: keyPrefix ?? env("KEY_PREFIX") ?? "",
            routes: try parseRoutes(routes ?? env("ROUTES")))
        configuration.database = databaseEndpoint
        configuration.beat = !(noBeat || env("NO_BEAT") == "1")
        configuration.beatLockTTL = beatLockTtl ?? env("BEAT_LOCK_TTL").flatMap(Double.init) ?? 10
        configuration.history = !(noHistory || env("NO_HISTORY") == "1")
        configuration.historyRetentionDays = historyRetentionDays ?? env("HISTORY_RETENTION_DAYS").flatMap(Double.init) ?? 7
        configuration.adminToken = token
        configuration.taskEvents = taskEvents || env("TASK_EVENTS") == "1"
        if let bug = env("PLANTED_BUG"), !bug.isEmpty {
            guard ["ack-before-result", "unfenced-fire"].contains(bug) else {
                throw ValidationError("CARAWAY_PLANTED_BUG must be ack-before-result or unfenced-fire (chaos self-test only), got '\(bug)'")
            }
            configuration.plantedBug = bug
        }
        configuration.httpRequestTimeout = httpRequestTimeout ?? env("HTTP_REQUEST_TIMEOUT").flatMap(Double.init) ?? 10
        configuration.busyPollMicroseconds = busyPollUs ?? env("BUSY_POLL_US").flatMap(Int.init) ?? 500
        return configuration
    }

    static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(cString: buffer)
    }
}

/// Parses `--routes` / `CARAWAY_ROUTES`; a bad table stops start-up with the reason.
func parseRoutes(_ text: String?) throws -> TaskRoutes {
    guard let text, !text.isEmpty else { return TaskRoutes() }
    do { return try TaskRoutes(json: text) } catch { throw ValidationError("--routes: \(error)") }
}

/// `CARAWAY_<NAME>` from the environment.
func env(_ name: String) -> String? {
    getenv("CARAWAY_" + name).map { String(cString: $0) }
}

extension Substring {
    var trimmingSpaces: String { String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        String(self.drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
