/// Everything that can be wrong with a schedule definition: a crontab expression, a time zone
/// name, an interval, a misfire policy, or the JSON that stores them.
///
/// Each case names the offending field and token, and ``description`` is a sentence that says
/// what is allowed instead, fit for an API error body or a log line.
public enum ScheduleError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A crontab expression does not have five whitespace-separated fields (a seconds or year
    /// field, as Quartz and some crons accept, is the usual cause).
    case wrongFieldCount(expected: Int, got: Int)
    /// A crontab number is outside its field's range, e.g. minute 61.
    case valueOutOfRange(field: CronField, value: Int, range: ClosedRange<Int>)
    /// A month or day-of-week name is not one of the three-letter English names.
    case unknownName(field: CronField, name: String)
    /// A crontab list item is not `*`, `N`, `N-M` or one of those with `/step`.
    case malformedToken(field: CronField, token: String)
    /// A crontab step is zero, e.g. `*/0`.
    case nonPositiveStep(field: CronField, token: String)
    /// A crontab range ends before it starts, e.g. `17-9`; cron does not wrap around.
    case reversedRange(field: CronField, token: String)
    /// An expression starting with `@` is not one of the supported macros (`@reboot` is not a
    /// schedule).
    case unknownMacro(String)
    /// The time zone is not an IANA name that tzdata knows.
    case unknownTimeZone(String)
    /// An interval is zero, negative or not finite.
    case nonPositiveInterval(Double)
    /// A django-celery-beat interval period is not seconds, minutes, hours or days.
    case unknownPeriod(String)
    /// Interval text is not of the form `every N seconds|minutes|hours|days`.
    case malformedInterval(String)
    /// A misfire policy is not `skip`, `once` or `catch_up:N` with N in range.
    case invalidMisfirePolicy(String)
    /// A field of a stored schedule (JSON or table column) is missing, has the wrong type or an
    /// invalid value. `field` is the key as stored, e.g. `every` or `timezone`.
    case invalidField(field: String, reason: String)

    public var description: String {
        switch self {
        case .wrongFieldCount(let expected, let got):
            return "expected \(expected) fields, got \(got)"
                + " (minute hour day-of-month month day-of-week; seconds and year fields are not supported)"
        case .valueOutOfRange(let field, let value, let range):
            return "\(field.name) field: value \(value) is out of range \(range.lowerBound)-\(range.upperBound)"
        case .unknownName(let field, let name):
            let names = field == .month ? "jan-dec" : "sun-sat"
            return "\(field.name) field: unknown name '\(name)'; use a number or a three-letter name (\(names))"
        case .malformedToken(let field, let token):
            return "\(field.name) field: cannot read '\(token)'; expected *, N, N-M, or one of those with /step"
        case .nonPositiveStep(let field, let token):
            return "\(field.name) field: step must be positive in '\(token)'"
        case .reversedRange(let field, let token):
            return "\(field.name) field: range '\(token)' ends before it starts; split it into two ranges"
        case .unknownMacro(let macro):
            return "unknown macro '\(macro)'; expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly"
        case .unknownTimeZone(let name):
            return "unknown time zone '\(name)'; expected an IANA name such as UTC or Europe/Berlin"
        case .nonPositiveInterval(let seconds):
            return "interval must be a positive number of seconds, got \(seconds)"
        case .unknownPeriod(let period):
            return "unknown interval period '\(period)'; expected seconds, minutes, hours or days"
        case .malformedInterval(let text):
            return "cannot read interval '\(text)'; expected 'every N seconds|minutes|hours|days'"
        case .invalidMisfirePolicy(let text):
            return "unknown misfire policy '\(text)'; expected skip, once or catch_up:N"
                + " with N from 1 to \(MisfirePolicy.maximumCatchUp)"
        case .invalidField(let field, let reason):
            return "schedule field `\(field)`: \(reason)"
        }
    }
}
