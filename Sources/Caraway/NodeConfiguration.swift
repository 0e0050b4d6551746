import CarawayPostgres
import CarawayProtocol
import CarawayRedis
import Logging

/// Everything a node needs to start, resolved from flags, then environment, then defaults.
public struct NodeConfiguration: Sendable {
    public var redis: RedisEndpoint
    public var name: String
    public var concurrency: Int
    public var queues: [String]
    public var maxTasksPerChild: Int?
    public var maxMemoryPerChildKiB: Int?
    public var httpHost: String?
    public var httpPort: Int
    public var logFormat: LineLogHandler.Format
    public var logLevel: Logger.Level
    public var scriptsDirectory: String?
    public var maxMessageBytes: Int
    public var maxDeliveries: Int
    public var leaseSeconds: Double
    public var shutdownGraceSeconds: Double
    public var softTimeLimit: Double?
    public var hardTimeLimit: Double?
    public var resultExpires: Int
    public var keyPrefix: String
    public var routes: TaskRoutes
    /// Postgres for schedules, beat and history; nil runs a worker-only node.
    public var database: PostgresEndpoint?
    /// Take part in beat elections (every node does by default).
    public var beat: Bool = true
    /// Beat lock TTL in seconds (renewed every third of it).
    public var beatLockTTL: Double = 10
    /// Record every execution in Postgres.
    public var history: Bool = true
    public var historyRetentionDays: Double = 7
    /// Bearer token for mutating API routes; required to bind HTTP beyond loopback.
    public var adminToken: String?
    /// Send Celery task events from the start (`celery worker -E`); Flower's `enable_events`
    /// broadcast turns them on too.
    public var taskEvents: Bool = false
    /// Seconds an HTTP client has to send one whole request.
    public var httpRequestTimeout: Double = 10
    /// While tasks are held, poll for I/O this long after each wake-up before sleeping (µs;
    /// 0 = always sleep). See `EventLoop.run(busyPollingWhile:budget:)`.
    public var busyPollMicroseconds: Int = 500
    /// A deliberately wrong behaviour, from `CARAWAY_PLANTED_BUG`, that exists only so the chaos
    /// harness can prove it catches real bugs: `ack-before-result` or `unfenced-fire`.
    public var plantedBug: String?

    public init(redis: RedisEndpoint, name: String, concurrency: Int, queues: [String] = ["celery"],
                maxTasksPerChild: Int? = nil, maxMemoryPerChildKiB: Int? = nil, httpHost: String? = "127.0.0.1",
                httpPort: Int = 8008, logFormat: LineLogHandler.Format = .human, logLevel: Logger.Level = .info,
                scriptsDirectory: String? = nil, maxMessageBytes: Int = 8 << 20, maxDeliveries: Int = 5,
                leaseSeconds: Double = 5, shutdownGraceSeconds: Double = 60, softTimeLimit: Double? = nil,
                hardTimeLimit: Double? = nil, resultExpires: Int = 86_400, keyPrefix: String = "",
                routes: TaskRoutes = TaskRoutes()) {
        self.redis = redis
        self.name = name
        self.concurrency = concurrency
        self.queues = queues
        self.maxTasksPerChild = maxTasksPerChild
        self.maxMemoryPerChildKiB = maxMemoryPerChildKiB
        self.httpHost = httpHost
        self.httpPort = httpPort
        self.logFormat = logFormat
        self.logLevel = logLevel
        self.scriptsDirectory = scriptsDirectory
        self.maxMessageBytes = maxMessageBytes
        self.maxDeliveries = maxDeliveries
        self.leaseSeconds = leaseSeconds
        self.shutdownGraceSeconds = shutdownGraceSeconds
        self.softTimeLimit = softTimeLimit
        self.hardTimeLimit = hardTimeLimit
        self.resultExpires = resultExpires
        self.keyPrefix = keyPrefix
        self.routes = routes
    }
}
