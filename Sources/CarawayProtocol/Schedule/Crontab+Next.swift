/// Finding the next matching minute.
///
/// The search walks the schedule zone's civil calendar field by field, largest first: a month
/// that cannot match is skipped whole, then a day, then an hour, so even `0 0 29 2 *` from a
/// March takes a few dozen steps, not a million minutes. Each matching wall time is then mapped
/// to an instant by ``ZoneRules/firstInstant(atWall:)``, which applies the DST rules.
extension Crontab {
    /// How many calendar years past the starting one the search looks before deciding the
    /// expression never matches. Eight covers the longest real wait, Feb 29 across a skipped
    /// century leap year (2096 → 2104).
    static let searchYears: Int64 = 8

    /// The first instant strictly after `t` at which the schedule fires, evaluated on the wall
    /// clock of ``timeZone``.
    ///
    /// Daylight saving time:
    /// - A wall time inside a spring-forward gap (02:30 on 2026-03-08 in America/New_York) does
    ///   not exist. It fires at the first instant after the gap (03:00 EDT), as cronie runs jobs
    ///   of the skipped hour right after the jump: a daily job then still runs that day, and an
    ///   hourly one stays an hour apart. Every skipped wall time maps to that same instant, so
    ///   they fire once together (`*/15` fires once at 03:00, then 03:15).
    /// - A wall time repeated by a fall-back (01:30 on 2026-11-01 in America/New_York) fires once,
    ///   at its first occurrence (EDT). The repeated hour brings no new ticks, so `0 * * * *`
    ///   fires at 01:00 EDT and next at 02:00 EST, two hours later, and `*/15` pauses for
    ///   75 minutes. Schedules that need a steady real-time cadence should use an interval or
    ///   a UTC crontab.
    ///
    /// - Parameter t: seconds since the Unix epoch.
    /// - Returns: seconds since the Unix epoch (a whole local minute, or the end of a gap);
    ///   `nil` if nothing matches within eight years (an impossible date such as
    ///   `0 0 30 2 *`), or if `t` is not finite or beyond year ±30,000.
    public func next(after t: Double) -> Double? {
        guard t.isFinite, abs(t) < 1e12 else { return nil }
        let start = Int64(t.rounded(.down))
        // The first whole wall minute after `t`. Wall minutes before it can only map to
        // instants at or before `t`: the mapping never goes backwards except inside a
        // fall-back overlap, where earlier wall times already had their first occurrence.
        let minuteIndex = floorDivide(zone.wall(at: start), 60) + 1
        let startDay = floorDivide(minuteIndex, 1440)
        let startMinuteOfDay = Int(minuteIndex - startDay * 1440)
        let date = Timestamp.civil(fromDays: startDay)
        var cursor = LocalMinute(year: date.year, month: date.month, day: date.day,
                                 hour: startMinuteOfDay / 60, minute: startMinuteOfDay % 60)
        let lastYear = date.year + Self.searchYears
        while let match = nextMatch(from: cursor, throughYear: lastYear) {
            let instant = zone.firstInstant(atWall: match.wallSeconds)
            if Double(instant) > t { return Double(instant) }
            // Already fired: a gap time that maps back to a transition at or before `t`, or a
            // repeated time whose first occurrence is past.
            cursor = match
            cursor.minute += 1
        }
        return nil
    }

    /// The first wall minute at or after `start` that matches every field, stepping by the
    /// largest field that fails. Out-of-range components in `start` (minute 60, hour 24, day 32,
    /// month 13) are allowed and mean "carry into the next larger unit".
    func nextMatch(from start: LocalMinute, throughYear lastYear: Int64) -> LocalMinute? {
        var m = start
        while m.year <= lastYear {
            guard let month = Self.nextBit(months, from: m.month) else {
                m = LocalMinute(year: m.year + 1, month: 1, day: 1, hour: 0, minute: 0)
                continue
            }
            if month != m.month { m = LocalMinute(year: m.year, month: month, day: 1, hour: 0, minute: 0) }
            guard let day = nextDay(year: m.year, month: m.month, from: m.day) else {
                m = LocalMinute(year: m.year, month: m.month + 1, day: 1, hour: 0, minute: 0)
                continue
            }
            if day != m.day { m.day = day; m.hour = 0; m.minute = 0 }
            guard let hour = Self.nextBit(hours, from: m.hour) else {
                m.day += 1; m.hour = 0; m.minute = 0
                continue
            }
            if hour != m.hour { m.hour = hour; m.minute = 0 }
            guard let minute = Self.nextBit(minutes, from: m.minute) else {
                m.hour += 1; m.minute = 0
                continue
            }
            m.minute = minute
            return m
        }
        return nil
    }

    /// The first day of `month` from `day` on that matches the day rule, or `nil` if none is
    /// left in the month (so day 31 is never found in April and Feb 30 never at all).
    func nextDay(year: Int64, month: Int, from day: Int) -> Int? {
        let length = Timestamp.daysInMonth(year, month)
        guard day <= length else { return nil }
        // Vixie cron: if either field starts with `*`, a day must match both (a plain `*`
        // matches everything, so the other decides); if neither does, either one suffices.
        let both = dayOfMonthIsWildcard || dayOfWeekIsWildcard
        if both && daysOfWeek == Self.everyWeekday {
            guard let found = Self.nextBit(daysOfMonth, from: day), found <= length else { return nil }
            return found
        }
        var weekday = Self.weekday(year: year, month: month, day: day)
        for candidate in day...length {
            let byMonth = daysOfMonth & (1 << UInt64(candidate)) != 0
            let byWeek = daysOfWeek & (1 << UInt64(weekday)) != 0
            if both ? (byMonth && byWeek) : (byMonth || byWeek) { return candidate }
            weekday = weekday == 6 ? 0 : weekday + 1
        }
        return nil
    }

    /// Bits 0–6: the day-of-week set of `*`.
    static let everyWeekday: UInt64 = 0x7F

    /// 0 = Sunday … 6 = Saturday; 1970-01-01 was a Thursday.
    static func weekday(year: Int64, month: Int, day: Int) -> Int {
        let days = Timestamp.days(fromCivil: year, month, day)
        return Int(((days % 7) + 7 + 4) % 7)
    }

    /// The lowest set bit of `bits` at position `from` or above, or `nil` if there is none.
    static func nextBit(_ bits: UInt64, from position: Int) -> Int? {
        guard position < 64 else { return nil }
        let remaining = bits >> UInt64(position)
        return remaining == 0 ? nil : position + remaining.trailingZeroBitCount
    }
}

extension Crontab {
    /// A wall-clock minute in the schedule's zone, as civil fields.
    struct LocalMinute: Equatable {
        var year: Int64
        var month: Int
        var day: Int
        var hour: Int
        var minute: Int

        /// Seconds since 1970-01-01T00:00 read as if the local clock were UTC.
        var wallSeconds: Int64 {
            Timestamp.days(fromCivil: year, month, day) * 86_400 + Int64(hour * 3600 + minute * 60)
        }
    }
}

/// Division rounding towards negative infinity, for instants before 1970.
private func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
    let quotient = value / divisor
    return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient
}
