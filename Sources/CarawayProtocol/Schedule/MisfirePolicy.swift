/// What beat does with ticks it missed, e.g. while no node was leader or the database was down.
///
/// A tick is *on time* when beat gets to it within the tolerance (`now - tick <= tolerance`);
/// on-time ticks always fire. Older due ticks are *missed*, and the policy decides which of
/// them still fire. Stored as text in the `misfire` column: `skip`, `once` or `catch_up:N`.
public enum MisfirePolicy: Sendable, Equatable, CustomStringConvertible {
    /// Missed ticks are dropped; only on-time ticks fire. For work that is pointless late
    /// (refresh a cache, poll a feed).
    case skip
    /// All due ticks coalesce into exactly one run, labelled with the latest due tick (Celery
    /// beat's behaviour after downtime). For work where one late run makes up for many.
    case once
    /// The most recent `max` missed ticks fire, oldest first, followed by any on-time tick. For
    /// work that must run per period (one report per hour). `max` is capped at
    /// ``maximumCatchUp``.
    case catchUp(max: Int)

    /// The most ticks one plan returns, of missed ticks and of on-time ticks each, so a
    /// year-long outage cannot turn into an unbounded burst or an unbounded computation.
    public static let maximumCatchUp = 1000

    /// Parses the `misfire` column.
    /// - Parameter text: `skip`, `once` or `catch_up:N` with N from 1 to ``maximumCatchUp``.
    /// - Throws: ``ScheduleError/invalidMisfirePolicy(_:)`` for anything else.
    public init(_ text: String) throws(ScheduleError) {
        switch text {
        case "skip": self = .skip
        case "once": self = .once
        default:
            let prefix = "catch_up:"
            guard text.hasPrefix(prefix), let count = Crontab.decimal(text.dropFirst(prefix.count)),
                  (1...Self.maximumCatchUp).contains(count) else { throw .invalidMisfirePolicy(text) }
            self = .catchUp(max: count)
        }
    }

    /// The column text: `skip`, `once` or `catch_up:N`.
    public var description: String {
        switch self {
        case .skip: return "skip"
        case .once: return "once"
        case .catchUp(let count): return "catch_up:\(count)"
        }
    }

    /// Decides which due ticks of one schedule fire now, and when it is next due.
    ///
    /// The due ticks are `nextRunAt` and every later tick of `schedule` up to `now` inclusive.
    /// The work is bounded by ``maximumCatchUp`` whatever the downtime: a year-old `nextRunAt`
    /// on a one-second interval is counted arithmetically, and a crontab is searched backwards
    /// from `now` instead of enumerated from `nextRunAt`.
    ///
    /// - Parameters:
    ///   - schedule: the schedule.
    ///   - nextRunAt: the stored next run, the first due tick; it counts as a tick even if an
    ///     edit has moved the schedule off it.
    ///   - now: the current time, in seconds since the Unix epoch.
    ///   - anchor: the interval anchor (see ``Schedule/next(after:anchor:)``).
    ///   - policy: what to do with missed ticks.
    ///   - tolerance: how late, in seconds, a tick may be and still count as on time.
    /// - Returns: the ticks to fire, ascending (empty when nothing is due or everything due is
    ///   skipped), and the first tick strictly after `now`: `nil` once a one-off has passed or a
    ///   crontab can never match again. When nothing is due, `newNextRunAt` is `nextRunAt`.
    public static func plan(schedule: Schedule, nextRunAt: Double, now: Double, anchor: Double,
                            policy: MisfirePolicy, tolerance: Double = 1.0) -> (ticks: [Double], newNextRunAt: Double?) {
        guard nextRunAt <= now else { return ([], nextRunAt) }
        let newNextRunAt = schedule.next(after: now, anchor: anchor)
        // On time means now - tick <= tolerance, i.e. tick >= onTimeFrom.
        let onTimeFrom = now - max(tolerance, 0)
        let onTime = schedule.latestTicks(first: nextRunAt, in: onTimeFrom, now, limit: maximumCatchUp, anchor: anchor)
        func missed(limit: Int) -> [Double] {
            schedule.latestTicks(first: nextRunAt, in: -.infinity, onTimeFrom.nextDown, limit: limit, anchor: anchor)
        }
        let ticks: [Double]
        switch policy {
        case .skip:
            ticks = onTime
        case .once:
            ticks = onTime.last.map { [$0] } ?? missed(limit: 1)
        case .catchUp(let count):
            ticks = missed(limit: min(max(count, 0), maximumCatchUp)) + onTime
        }
        return (ticks, newNextRunAt)
    }
}
