/// A Celery task state as stored in the result backend's `status` field.
///
/// A string wrapper rather than a closed enum: Celery lets tasks store custom states
/// (`self.update_state(state="PROGRESS")`), and a reader must not fail on them.
public struct TaskState: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    /// Never stored: an absent result key means PENDING.
    public static let pending: TaskState = "PENDING"
    /// Received by a worker; Celery reports it in events and does not normally store it.
    public static let received: TaskState = "RECEIVED"
    /// Stored only with `task_track_started`; `result` is `{"pid", "hostname"}`.
    public static let started: TaskState = "STARTED"
    /// Finished; `result` is the return value.
    public static let success: TaskState = "SUCCESS"
    /// Raised; `result` is the exception object.
    public static let failure: TaskState = "FAILURE"
    /// Will run again; the message was re-published.
    public static let retry: TaskState = "RETRY"
    /// Revoked or expired; `result` is a `TaskRevokedError`.
    public static let revoked: TaskState = "REVOKED"

    /// Celery's `READY_STATES`: the task will not change state again, so waiters can stop
    /// and `date_done` is set.
    public var isReady: Bool { self == .success || self == .failure || self == .revoked }

    /// Celery's `EXCEPTION_STATES`: `result` holds an exception object (or null for a bare retry).
    public var isException: Bool { self == .failure || self == .retry || self == .revoked }

    public var description: String { rawValue }
}
