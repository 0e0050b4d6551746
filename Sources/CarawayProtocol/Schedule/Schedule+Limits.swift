extension Schedule {
    /// Shorter intervals are almost certainly a unit mistake (ms for s) and would flood the queue.
    public static let minimumInterval: Double = 0.1

    /// Why this schedule can never be stored or fired (its next tick lies beyond year 9999, e.g.
    /// an interval of 1e300 s), or nil when it is fine. One-offs in the past are fine: they are
    /// simply done.
    public func unschedulableReason(now: Double, anchor: Double) -> String? {
        if case .oneOff(let once) = self {
            return Timestamp.isRepresentable(once.at) ? nil : "the one-off time lies outside the years 0001-9999"
        }
        if case .interval(let interval) = self, interval.every < Self.minimumInterval {
            return "an interval must be at least \(Self.minimumInterval) s (got \(interval.every) s)"
        }
        guard let next = next(after: now, anchor: anchor) else { return nil }
        return Timestamp.isRepresentable(next) ? nil : "the next tick lies beyond the year 9999; use a shorter interval"
    }
}
