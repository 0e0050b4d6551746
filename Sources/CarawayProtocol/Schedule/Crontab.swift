/// A five-field cron schedule, `minute hour day-of-month month day-of-week`, evaluated on the
/// wall clock of an IANA time zone.
///
/// The grammar is Vixie cron's, which is also what django-celery-beat stores:
/// - `*`, numbers, lists `1,2,5`, ranges `1-5`, steps `*/15` and `10-50/5`, and `5/10`
///   (from 5 to the end of the field's range, every 10);
/// - month names `jan`–`dec` and day names `sun`–`sat`, case-insensitive, anywhere a number
///   may stand (`mon-fri`, `jan,jul`); day 7 is Sunday as well as 0, and a day-of-week range
///   ending in Sunday (`fri-sun`, `5-0`) ends at the end of the week;
/// - the macros `@yearly` (= `@annually`), `@monthly`, `@weekly`, `@daily` (= `@midnight`) and
///   `@hourly`.
///
/// Day matching follows Vixie cron (and cronie): when both day fields are restricted, a day
/// matches if **either** matches (`0 0 13 * 5` runs on the 13th and on every Friday); when one
/// of them is `*`, only the other one counts. As in Vixie cron, "is `*`" means "starts with
/// `*`": with `*/2` in day-of-month a day must match both fields (`0 0 */2 * 1` runs on
/// Mondays with an odd date), not either.
///
/// Daylight saving time, in the schedule's zone (see ``next(after:)``): a wall time skipped by
/// a spring-forward gap fires at the first instant after the gap; a wall time repeated by a
/// fall-back fires once, at its first occurrence.
///
/// Values are immutable and `Sendable`; any thread may use them.
public struct Crontab: Sendable, Equatable, CustomStringConvertible {
    /// The expression exactly as given, e.g. `*/5 9-17 * * mon-fri` or `@daily`.
    public let expression: String
    /// The IANA time zone name as given, e.g. `Europe/Berlin`.
    public let timeZone: String

    /// Bit `n` set when minute `n` (0–59) matches.
    let minutes: UInt64
    /// Bit `n` set when hour `n` (0–23) matches.
    let hours: UInt64
    /// Bit `n` set when day of month `n` (1–31) matches.
    let daysOfMonth: UInt64
    /// Bit `n` set when month `n` (1–12) matches.
    let months: UInt64
    /// Bit `n` set when weekday `n` (0 = Sunday … 6 = Saturday) matches.
    let daysOfWeek: UInt64
    /// The day-of-month text starts with `*` (Vixie's `DOM_STAR`).
    let dayOfMonthIsWildcard: Bool
    /// The day-of-week text starts with `*` (Vixie's `DOW_STAR`).
    let dayOfWeekIsWildcard: Bool
    /// Offsets of ``timeZone``.
    let zone: ZoneRules

    /// Parses a crontab expression for the time zone `timeZone`.
    ///
    /// - Parameters:
    ///   - expression: five fields separated by whitespace, or a macro such as `@hourly`.
    ///   - timeZone: an IANA time zone name; the schedule follows that zone's wall clock,
    ///     daylight saving time included.
    /// - Throws: ``ScheduleError/wrongFieldCount(expected:got:)``,
    ///   ``ScheduleError/valueOutOfRange(field:value:range:)``,
    ///   ``ScheduleError/unknownName(field:name:)``, ``ScheduleError/malformedToken(field:token:)``,
    ///   ``ScheduleError/nonPositiveStep(field:token:)``, ``ScheduleError/reversedRange(field:token:)``
    ///   or ``ScheduleError/unknownMacro(_:)`` for the expression (fields are checked left to right
    ///   and the first problem is reported), then ``ScheduleError/unknownTimeZone(_:)``.
    public init(_ expression: String, timeZone: String = "UTC") throws(ScheduleError) {
        let fields = try Crontab.parseFields(expression)
        guard let zone = ZoneRules(identifier: timeZone) else { throw .unknownTimeZone(timeZone) }
        self.expression = expression
        self.timeZone = timeZone
        self.minutes = fields.minutes
        self.hours = fields.hours
        self.daysOfMonth = fields.daysOfMonth
        self.months = fields.months
        self.daysOfWeek = fields.daysOfWeek
        self.dayOfMonthIsWildcard = fields.dayOfMonthIsWildcard
        self.dayOfWeekIsWildcard = fields.dayOfWeekIsWildcard
        self.zone = zone
    }

    /// The expression followed by the time zone, e.g. `*/5 * * * * (Europe/Berlin)`.
    public var description: String { "\(expression) (\(timeZone))" }
}

/// One of the five fields of a crontab expression; errors name the field they are about.
public enum CronField: Sendable, Equatable, CaseIterable {
    case minute
    case hour
    case dayOfMonth
    case month
    case dayOfWeek

    /// The field's name as error messages spell it: `minute`, `hour`, `day-of-month`, `month`,
    /// `day-of-week`.
    public var name: String {
        switch self {
        case .minute: return "minute"
        case .hour: return "hour"
        case .dayOfMonth: return "day-of-month"
        case .month: return "month"
        case .dayOfWeek: return "day-of-week"
        }
    }

    /// The numbers the field accepts. Day-of-week accepts 7 as a second Sunday.
    public var range: ClosedRange<Int> {
        switch self {
        case .minute: return 0...59
        case .hour: return 0...23
        case .dayOfMonth: return 1...31
        case .month: return 1...12
        case .dayOfWeek: return 0...7
        }
    }

    /// What `*` and the open end of `N/step` stand for: ``range``, except that the week ends on
    /// Saturday (6), so Sunday is not counted twice.
    var span: ClosedRange<Int> {
        self == .dayOfWeek ? 0...6 : range
    }
}
