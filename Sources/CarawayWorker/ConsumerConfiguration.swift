import CarawayProtocol

/// How a node consumes: queues, limits, defaults.
public struct ConsumerConfiguration: Sendable {
    /// Queues to consume, in initial rotation order.
    public var queues: [String]
    /// This node's name (Celery's hostname, `name@host`), for `origin` and results.
    public var nodeName: String
    /// Messages larger than this are dead-lettered unread.
    public var maxMessageBytes: Int
    /// A message whose runs all killed their child is dead-lettered after this many runs.
    public var maxDeliveries: Int
    /// Node-wide time limits in seconds (nil = none); task options and message headers override.
    public var softTimeLimit: Double?
    public var hardTimeLimit: Double?
    /// Result TTL in seconds (Celery's `result_expires`, default one day; 0 = forever).
    public var resultExpires: Int
    /// SIGTERM waits this long for active tasks before forcing.
    public var shutdownGraceSeconds: Double
    /// Routes for follow-up messages (chain steps, callbacks) whose signature names no queue.
    public var routes: TaskRoutes
    /// PLANTED BUG, for the chaos harness's self-test only (`CARAWAY_PLANTED_BUG=ack-before-result`):
    /// removes a message from in-flight when its task starts instead of when its result is stored.
    public var plantedAckBeforeResult = false

    public init(queues: [String] = ["celery"], nodeName: String, maxMessageBytes: Int = 8 << 20, maxDeliveries: Int = 5,
                softTimeLimit: Double? = nil, hardTimeLimit: Double? = nil, resultExpires: Int = 86_400,
                shutdownGraceSeconds: Double = 60, routes: TaskRoutes = TaskRoutes()) {
        self.queues = queues
        self.nodeName = nodeName
        self.maxMessageBytes = maxMessageBytes
        self.maxDeliveries = maxDeliveries
        self.softTimeLimit = softTimeLimit
        self.hardTimeLimit = hardTimeLimit
        self.resultExpires = resultExpires
        self.shutdownGraceSeconds = shutdownGraceSeconds
        self.routes = routes
    }
}
