/// Per-task behaviour, registered with the handler and known to both the node and its children.
public struct TaskOptions: Sendable {
    /// When the child running the task dies, requeue the message (true, Celery's
    /// `reject_on_worker_lost`) or record a `WorkerLostError` failure (false).
    public var rejectOnWorkerLost: Bool
    /// Retries allowed before a `TaskRetry` becomes a `MaxRetriesExceededError` failure.
    public var maxRetries: Int
    /// Backoff for retries that give no countdown: base × 2^retries seconds, capped, with full jitter.
    public var retryBackoffBase: Double
    public var retryBackoffMax: Double
    public var retryJitter: Bool
    /// Time limits in seconds (nil = node default). The message's `timelimit` header wins.
    public var softTimeLimit: Double?
    public var hardTimeLimit: Double?
    /// Store no result (Celery's `ignore_result`); the message header can also ask for it.
    public var ignoreResult: Bool

    public init(rejectOnWorkerLost: Bool = true, maxRetries: Int = 3, retryBackoffBase: Double = 1,
                retryBackoffMax: Double = 600, retryJitter: Bool = true, softTimeLimit: Double? = nil,
                hardTimeLimit: Double? = nil, ignoreResult: Bool = false) {
        self.rejectOnWorkerLost = rejectOnWorkerLost
        self.maxRetries = maxRetries
        self.retryBackoffBase = retryBackoffBase
        self.retryBackoffMax = retryBackoffMax
        self.retryJitter = retryJitter
        self.softTimeLimit = softTimeLimit
        self.hardTimeLimit = hardTimeLimit
        self.ignoreResult = ignoreResult
    }

    /// Seconds before retry number `retries + 1`, per the backoff policy.
    public func backoff<R: RandomNumberGenerator>(retries: Int, using random: inout R) -> Double {
        let exponent = min(retries, 30)
        let ceiling = min(retryBackoffMax, retryBackoffBase * Double(1 << exponent))
        return retryJitter ? Double.random(in: 0...ceiling, using: &random) : ceiling
    }
}
