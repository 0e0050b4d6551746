/// Celery's "request info" (`Request.info()`): one entry of the `active` and `reserved` replies
/// (spec §5.6). `args`/`kwargs` are sent as values, as Celery does with `safe=False`.
public struct TaskRequestInfo: Sendable {
    public var id: String
    public var name: String
    public var args: [JSON]
    public var kwargs: JSONObject
    public var hostname: String
    /// Epoch seconds the task started, nil while only reserved.
    public var timeStart: Double?
    public var workerPID: Int?
    public var queue: String
    public var priority: Int
    public var redelivered: Bool

    public init(id: String, name: String, args: [JSON], kwargs: JSONObject, hostname: String, timeStart: Double?,
                workerPID: Int?, queue: String, priority: Int = 0, redelivered: Bool = false) {
        self.id = id
        self.name = name
        self.args = args
        self.kwargs = kwargs
        self.hostname = hostname
        self.timeStart = timeStart
        self.workerPID = workerPID
        self.queue = queue
        self.priority = priority
        self.redelivered = redelivered
    }

    public var json: JSON {
        var o = JSONObject()
        o.reserveCapacity(10)
        o.append("id", .string(id))
        o.append("name", .string(name))
        o.append("args", .array(args))
        o.append("kwargs", .object(kwargs))
        o.append("type", .string(name))
        o.append("hostname", .string(hostname))
        o.append("time_start", JSON(timeStart))
        o.append("acknowledged", .bool(false))  // acks-late: acknowledged only when finished
        o.append("delivery_info", .object(["exchange": "", "routing_key": .string(queue),
                                           "priority": JSON(priority), "redelivered": .bool(redelivered)]))
        o.append("worker_pid", JSON(workerPID))
        return .object(o)
    }
}
