import Testing

@testable import CarawayProtocol

@Suite("Schedule errors")
struct ScheduleErrorTests {
    @Test("Every error reads as a sentence naming the field, the token and what is allowed")
    func descriptions() {
        let cases: [(ScheduleError, String)] = [
            (.wrongFieldCount(expected: 5, got: 4),
             "expected 5 fields, got 4 (minute hour day-of-month month day-of-week; seconds and year fields are not supported)"),
            (.valueOutOfRange(field: .minute, value: 61, range: 0...59), "minute field: value 61 is out of range 0-59"),
            (.valueOutOfRange(field: .dayOfWeek, value: 8, range: 0...7), "day-of-week field: value 8 is out of range 0-7"),
            (.unknownName(field: .dayOfWeek, name: "sunday"),
             "day-of-week field: unknown name 'sunday'; use a number or a three-letter name (sun-sat)"),
            (.unknownName(field: .month, name: "janu"), "month field: unknown name 'janu'; use a number or a three-letter name (jan-dec)"),
            (.malformedToken(field: .hour, token: "1-"), "hour field: cannot read '1-'; expected *, N, N-M, or one of those with /step"),
            (.nonPositiveStep(field: .minute, token: "*/0"), "minute field: step must be positive in '*/0'"),
            (.reversedRange(field: .hour, token: "17-9"), "hour field: range '17-9' ends before it starts; split it into two ranges"),
            (.unknownMacro("@reboot"),
             "unknown macro '@reboot'; expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly"),
            (.unknownTimeZone("Mars/Base"), "unknown time zone 'Mars/Base'; expected an IANA name such as UTC or Europe/Berlin"),
            (.nonPositiveInterval(0), "interval must be a positive number of seconds, got 0.0"),
            (.unknownPeriod("weeks"), "unknown interval period 'weeks'; expected seconds, minutes, hours or days"),
            (.malformedInterval("every 5"), "cannot read interval 'every 5'; expected 'every N seconds|minutes|hours|days'"),
            (.invalidMisfirePolicy("later"), "unknown misfire policy 'later'; expected skip, once or catch_up:N with N from 1 to 1000"),
            (.invalidField(field: "every", reason: "must be a positive number of seconds, got 0"),
             "schedule field `every`: must be a positive number of seconds, got 0"),
        ]
        for (error, text) in cases {
            #expect(error.description == text)
            #expect("\(error)" == text)
        }
    }

    @Test("Errors compare by case and payload")
    func equality() {
        #expect(ScheduleError.unknownMacro("@reboot") == .unknownMacro("@reboot"))
        #expect(ScheduleError.unknownMacro("@reboot") != .unknownTimeZone("@reboot"))
        #expect(ScheduleError.valueOutOfRange(field: .minute, value: 61, range: 0...59)
            != .valueOutOfRange(field: .hour, value: 61, range: 0...59))
    }
}
