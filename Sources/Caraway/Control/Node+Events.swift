import CarawayControl
import CarawayProtocol

/// Execution events fan out to the history writer and Celery's event stream (the metrics count
/// transitions through `Consumer.onTransition`, without events).
extension Node {
    func executionEvent(_ event: ExecutionEvent) {
        beat?.history?.record(event)
        guard events.taskEventsEnabled, let (type, fields) = Self.celeryTaskEvent(event) else { return }
        events.task(type, uuid: event.taskID, fields: fields)
    }

    /// The Celery task event for one execution transition (spec §6.2), or nil if none matches.
    static func celeryTaskEvent(_ event: ExecutionEvent) -> (String, JSONObject)? {
        switch event.state {
        case "RECEIVED":
            return ("task-received", [
                "name": .string(event.task),
                "args": .string(PythonRepr.renderTuple(event.args ?? [])),
                "kwargs": .string(PythonRepr.render(.object(event.kwargs ?? [:]))),
                "root_id": JSON(event.rootID ?? event.taskID), "parent_id": JSON(event.parentID),
                "retries": JSON(event.retries), "eta": .null, "expires": .null,
            ])
        case "STARTED":
            return ("task-started", [:])
        case "SUCCESS":
            return ("task-succeeded", ["result": .string(PythonRepr.render(event.result ?? .null)), "runtime": JSON(event.runtime ?? 0)])
        case "FAILURE":
            return ("task-failed", ["exception": .string(event.error ?? ""), "traceback": ""])
        case "RETRY":
            return ("task-retried", ["exception": .string(event.error ?? ""), "traceback": ""])
        case "REVOKED":
            let terminated = event.error?.hasPrefix("terminated") ?? false
            return ("task-revoked", ["terminated": .bool(terminated), "signum": .null, "expired": .bool(event.error == "expired")])
        case "REQUEUED":
            return ("task-rejected", ["requeue": true])
        case "DEAD":
            return ("task-rejected", ["requeue": false])
        default:
            return nil
        }
    }
}
