import CCaraway
import CarawayProtocol
import Logging

/// What a task handler knows about the execution it is part of. Lives in the child process.
public struct TaskContext: Sendable {
    /// The task id (also the execution id handed to scripts).
    public let id: String
    /// The registered task name.
    public let name: String
    /// How many times this task has been retried before this run.
    public let retries: Int
    /// The queue the message came from.
    public let queue: String
    /// Workflow lineage, as Celery sends it.
    public let rootID: String?
    public let parentID: String?
    /// How many times this exact message was delivered (> 1 after a crash redelivery).
    public let deliveries: Int
    /// The soft time limit in seconds, if any: long tasks should poll `isSoftTimeLimitExceeded`.
    public let softTimeLimit: Double?
    /// Logger with `task.id` and `task.name` metadata, decorated on each access: most tasks
    /// never log, and setting the metadata for every task was ~9 % of a child's CPU.
    public var logger: Logger {
        var logger = baseLogger
        logger[metadataKey: "task.id"] = .string(id)
        logger[metadataKey: "task.name"] = .string(name)
        return logger
    }
    private let baseLogger: Logger

    public init(id: String, name: String, retries: Int = 0, queue: String = "celery", rootID: String? = nil,
                parentID: String? = nil, deliveries: Int = 1, softTimeLimit: Double? = nil, logger: Logger) {
        self.id = id
        self.name = name
        self.retries = retries
        self.queue = queue
        self.rootID = rootID
        self.parentID = parentID
        self.deliveries = deliveries
        self.softTimeLimit = softTimeLimit
        self.baseLogger = logger
    }

    /// True once the node has signalled that this task's soft time limit passed. The task should
    /// stop and throw ``TaskError/softTimeLimitExceeded()`` (Celery raises `SoftTimeLimitExceeded`).
    public var isSoftTimeLimitExceeded: Bool { caraway_soft_limit_flag() != 0 }
}

/// A task handler: JSON positional and keyword arguments in, a JSON value out, or a thrown error.
/// Runs in a child process, so it may block, burn CPU or crash without harming the node.
public typealias TaskHandler = @Sendable (TaskContext, [JSON], JSONObject) throws -> JSON
