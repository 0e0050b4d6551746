/// When a periodic task runs: every N seconds, on a crontab, or once.
///
/// Stored as JSON in the `schedule` column (see ``init(json:)``). All schedule math is pure:
/// the caller passes instants as seconds since the Unix epoch and nothing reads the clock, so
/// every leader computes the same ticks. Values are immutable and `Sendable`; any thread may
/// use them.
public enum Schedule: Sendable, Equatable {
    /// Every `every` seconds from the anchor.
    case interval(IntervalSchedule)
    /// On the minutes a crontab expression matches, in its time zone.
    case crontab(Crontab)
    /// Once, at a fixed instant.
    case oneOff(OneOffSchedule)

    /// The first tick strictly after `t`.
    /// - Parameters:
    ///   - t: seconds since the Unix epoch.
    ///   - anchor: the first tick of an interval (the schedule's `start_at`, else its creation
    ///     time); crontabs and one-offs ignore it.
    /// - Returns: seconds since the Unix epoch, or `nil` when no tick is left: a one-off that
    ///   has passed, or a crontab that can never match (`0 0 30 2 *`).
    public func next(after t: Double, anchor: Double) -> Double? {
        switch self {
        case .interval(let interval): return interval.next(after: t, anchor: anchor)
        case .crontab(let crontab): return crontab.next(after: t)
        case .oneOff(let oneOff): return oneOff.next(after: t)
        }
    }

    /// True for a one-off, which beat disables once it has fired.
    public var isOneOff: Bool {
        if case .oneOff = self { return true }
        return false
    }

    /// The last `limit` ticks within `low...high` of the sequence that starts at `first` and
    /// continues with the schedule's ticks after it, in ascending order.
    ///
    /// `first` is a row's stored `next_run_at`, which counts as a tick even if the schedule has
    /// since been edited so that it no longer lines up. The work is bounded by `limit`, not by
    /// the length of the range: intervals count arithmetically, and crontabs search backwards
    /// from `high` in windows that grow fourfold, enumerating forward inside each window.
    func latestTicks(first: Double, in low: Double, _ high: Double, limit: Int, anchor: Double) -> [Double] {
        guard limit > 0, low <= high, first <= high else { return [] }
        var ticks: [Double]
        switch self {
        case .oneOff(let oneOff):
            ticks = oneOff.at > first && oneOff.at >= low && oneOff.at <= high ? [oneOff.at] : []
        case .interval(let interval):
            ticks = interval.ticks(after: first, in: low, high, limit: limit, anchor: anchor)
        case .crontab(let crontab):
            ticks = crontab.latestTicks(after: max(first, low.nextDown), through: high, limit: limit)
        }
        if ticks.count < limit && first >= low { ticks.insert(first, at: 0) }
        return ticks
    }
}

extension IntervalSchedule {
    /// The last `limit` ticks strictly after `first` and within `low...high`, ascending.
    func ticks(after first: Double, in low: Double, _ high: Double, limit: Int, anchor: Double) -> [Double] {
        let afterFirst = first < anchor ? 0 : index(after: first, anchor: anchor)
        let atOrAboveLow = low <= anchor ? 0 : index(after: low.nextDown, anchor: anchor)
        let last = index(atOrBefore: high, anchor: anchor)
        let from = max(afterFirst, atOrAboveLow, last - Double(limit) + 1)
        guard from <= last else { return [] }
        return stride(from: from, through: last, by: 1).map { tick($0, anchor: anchor) }
    }
}

extension Crontab {
    /// The last `limit` ticks strictly after `bound` and at or before `high`, ascending.
    func latestTicks(after bound: Double, through high: Double, limit: Int) -> [Double] {
        var collected: [Double] = []
        var windowEnd = high
        var span = 3600.0
        while collected.count < limit && windowEnd > bound {
            let windowStart = max(bound, windowEnd - span)
            var segment: [Double] = []
            var cursor = windowStart
            while let tick = next(after: cursor), tick <= windowEnd {
                segment.append(tick)
                cursor = tick
            }
            collected = segment.suffix(limit - collected.count) + collected
            windowEnd = windowStart
            span *= 4
        }
        return collected
    }
}
