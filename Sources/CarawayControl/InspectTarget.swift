/// What `inspect` can ask a node; the names are Celery's remote-control commands (spec §5.6).
public enum InspectTarget: String, CaseIterable, Sendable {
    case ping, active, reserved, registered, stats, scheduled, revoked
    case activeQueues = "active_queues"
    case conf

    /// Targets kept in each node's snapshot (`revoked` is read from the durable set instead).
    public static let snapshotted: [InspectTarget] = allCases.filter { $0 != .revoked }
}
