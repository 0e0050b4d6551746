import CarawayProtocol

/// A task failure as Celery's result backend records it: an exception type, module and message.
/// Throw it from a handler to control what Python's `AsyncResult.get()` raises.
public struct TaskError: Error, Sendable, CustomStringConvertible {
    public var type: String
    public var module: String
    public var message: String

    public init(type: String, message: String, module: String = "builtins") {
        self.type = type
        self.message = message
        self.module = module
    }

    public var description: String { "\(type): \(message)" }

    /// Wrong argument count or type: Python's `TypeError`.
    public static func badArguments(_ message: String) -> TaskError { TaskError(type: "TypeError", message: message) }
    /// A value out of range: Python's `ValueError`.
    public static func badValue(_ message: String) -> TaskError { TaskError(type: "ValueError", message: message) }
    /// The task noticed its soft time limit and stopped (Celery's `SoftTimeLimitExceeded`).
    public static func softTimeLimitExceeded() -> TaskError {
        TaskError(type: "SoftTimeLimitExceeded", message: "SoftTimeLimitExceeded()", module: "billiard.exceptions")
    }
}

/// Thrown by a handler to ask for another attempt later (Celery's `self.retry()`).
public struct TaskRetry: Error, Sendable {
    /// Seconds until the next attempt; nil uses the task's backoff policy.
    public var countdown: Double?
    /// Overrides the task's `maxRetries` for this request.
    public var maxRetries: Int?
    /// Why (recorded as the RETRY result's exception message).
    public var reason: String

    public init(countdown: Double? = nil, maxRetries: Int? = nil, reason: String = "retry requested") {
        self.countdown = countdown
        self.maxRetries = maxRetries
        self.reason = reason
    }
}
