/// One state transition of one task execution, as a node observes it: the unit of the execution
/// history (received, started, succeeded, failed, retried, revoked, requeued, dead-lettered).
public struct ExecutionEvent: Sendable {
    public var taskID: String
    public var task: String
    /// Celery-style state name: RECEIVED, STARTED, SUCCESS, FAILURE, RETRY, REVOKED, REQUEUED, DEAD.
    public var state: String
    /// Epoch seconds.
    public var at: Double
    public var node: String
    public var queue: String?
    public var childPID: Int?
    public var retries: Int
    public var args: [JSON]?
    public var kwargs: JSONObject?
    public var runtime: Double?
    public var result: JSON?
    public var error: String?
    /// Set for executions fired by a schedule (message headers `caraway_schedule_id`, `caraway_tick`).
    public var scheduleID: Int64?
    public var tick: Double?
    /// The workflow ids Celery's task-received event carries (Flower links tasks by them).
    public var rootID: String?
    public var parentID: String?

    public init(taskID: String, task: String, state: String, at: Double, node: String, queue: String? = nil,
                childPID: Int? = nil, retries: Int = 0, args: [JSON]? = nil, kwargs: JSONObject? = nil,
                runtime: Double? = nil, result: JSON? = nil, error: String? = nil, scheduleID: Int64? = nil, tick: Double? = nil,
                rootID: String? = nil, parentID: String? = nil) {
        self.taskID = taskID
        self.task = task
        self.state = state
        self.at = at
        self.node = node
        self.queue = queue
        self.childPID = childPID
        self.retries = retries
        self.args = args
        self.kwargs = kwargs
        self.runtime = runtime
        self.result = result
        self.error = error
        self.scheduleID = scheduleID
        self.tick = tick
        self.rootID = rootID
        self.parentID = parentID
    }

    /// Terminal states end an execution (`finished_at`).
    public var isTerminal: Bool { Self.isTerminal(state) }

    /// Whether `state` ends a task's history (SUCCESS, FAILURE, REVOKED, DEAD).
    public static func isTerminal(_ state: String) -> Bool {
        switch state {
        case "SUCCESS", "FAILURE", "REVOKED", "DEAD": return true
        default: return false
        }
    }
}
