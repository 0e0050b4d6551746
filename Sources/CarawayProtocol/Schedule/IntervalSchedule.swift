/// A schedule that fires every fixed number of seconds, counted from an anchor.
///
/// Ticks are `anchor + k * every` for k = 0, 1, 2, …: the anchor (a schedule's `start_at`, or
/// its creation time) is the first tick, and there are none before it. Tying ticks to the
/// anchor instead of to the last run keeps the cadence from drifting when beat fires late or
/// restarts, and makes every tick a stable identity (the same instant whichever leader computes
/// it). Intervals ignore time zones and daylight saving time: they are real elapsed seconds.
///
/// Values are immutable and `Sendable`; any thread may use them.
public struct IntervalSchedule: Sendable, Equatable {
    /// The period in seconds; always positive and finite.
    public let every: Double

    /// Makes an interval of `seconds`.
    /// - Parameter seconds: the period; may have a fraction (`0.5`).
    /// - Throws: ``ScheduleError/nonPositiveInterval(_:)`` unless `seconds` is positive and finite.
    public init(every seconds: Double) throws(ScheduleError) {
        guard seconds.isFinite, seconds > 0 else { throw .nonPositiveInterval(seconds) }
        self.every = seconds
    }

    /// Makes an interval from django-celery-beat's `IntervalSchedule` columns.
    /// - Parameters:
    ///   - every: the count, at least 1 (django's own validator).
    ///   - period: `seconds`, `minutes`, `hours` or `days`. Django's `microseconds` is refused:
    ///     beat ticks no faster than its timer resolution.
    /// - Throws: ``ScheduleError/unknownPeriod(_:)`` for another period,
    ///   ``ScheduleError/nonPositiveInterval(_:)`` for a count below 1.
    public init(every: Int, period: String) throws(ScheduleError) {
        guard let unit = Self.unitSeconds(period) else { throw .unknownPeriod(period) }
        guard every >= 1 else { throw .nonPositiveInterval(Double(every)) }
        try self.init(every: Double(every) * unit)
    }

    /// Parses `every N seconds|minutes|hours|days`: singular or plural unit, any letter case,
    /// N a positive integer or decimal (`every 30 seconds`, `every 1 hour`, `Every 1.5 days`).
    /// A missing N means one (`every minute`).
    /// - Throws: ``ScheduleError/malformedInterval(_:)`` when the text has another shape,
    ///   ``ScheduleError/unknownPeriod(_:)`` for an unknown unit,
    ///   ``ScheduleError/nonPositiveInterval(_:)`` for N = 0.
    public init(parsing text: String) throws(ScheduleError) {
        let words = text.lowercased().split(whereSeparator: \.isWhitespace)
        guard words.first == "every", words.count == 2 || words.count == 3 else { throw .malformedInterval(text) }
        var count = 1.0
        if words.count == 3 {
            let number = words[1]
            // Only plain decimals: Double() would also take "nan", "inf" and "1e3".
            guard !number.isEmpty,
                  number.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: ".") }),
                  let parsed = Double(number) else { throw .malformedInterval(text) }
            count = parsed
        }
        let unit = String(words[words.count - 1])
        guard let seconds = Self.unitSeconds(unit) ?? Self.unitSeconds(unit + "s") else {
            // "every 5" lacks a unit; "every 5 weeks" and "every fortnight" have one Caraway
            // does not know.
            let isNumber = unit.utf8.first.map { $0 >= 0x30 && $0 <= 0x39 } ?? false
            throw isNumber ? .malformedInterval(text) : .unknownPeriod(unit)
        }
        try self.init(every: count * seconds)
    }

    /// The first tick strictly after `t`.
    /// - Parameters:
    ///   - t: seconds since the Unix epoch.
    ///   - anchor: the first tick, in seconds since the Unix epoch.
    /// - Returns: `anchor` if `t` is before it, else `anchor + k * every` for the smallest k
    ///   that lands after `t`.
    public func next(after t: Double, anchor: Double) -> Double {
        guard t >= anchor else { return anchor }
        return tick(index(after: t, anchor: anchor), anchor: anchor)
    }

    /// The instant of tick number `k`.
    func tick(_ k: Double, anchor: Double) -> Double {
        anchor + k * every
    }

    /// The number of the first tick strictly after `t`, for `t >= anchor`. Checks the
    /// neighbours of the divided estimate, so rounding never yields a tick at or before `t`
    /// or skips one.
    func index(after t: Double, anchor: Double) -> Double {
        var k = ((t - anchor) / every).rounded(.down) + 1
        if tick(k, anchor: anchor) <= t { k += 1 }
        if k > 0, tick(k - 1, anchor: anchor) > t { k -= 1 }
        return max(k, 0)
    }

    /// The number of the last tick at or before `t`, or −1 if `t` is before the anchor.
    func index(atOrBefore t: Double, anchor: Double) -> Double {
        guard t >= anchor else { return -1 }
        return index(after: t, anchor: anchor) - 1
    }

    /// Seconds per unit of django-celery-beat's plural period names.
    static func unitSeconds(_ period: String) -> Double? {
        switch period {
        case "seconds": return 1
        case "minutes": return 60
        case "hours": return 3600
        case "days": return 86_400
        default: return nil
        }
    }
}
