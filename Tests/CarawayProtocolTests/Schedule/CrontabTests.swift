import Testing

@testable import CarawayProtocol

@Suite("Crontab")
struct CrontabTests {
    @Test("The expression and time zone are kept exactly as given")
    func keepsText() throws {
        let crontab = try Crontab("  */5 9-17 * * Mon-Fri ", timeZone: "Europe/Berlin")
        #expect(crontab.expression == "  */5 9-17 * * Mon-Fri ")
        #expect(crontab.timeZone == "Europe/Berlin")
        #expect(crontab.description == "  */5 9-17 * * Mon-Fri  (Europe/Berlin)")
        #expect(try Crontab("@daily").expression == "@daily")
    }

    @Test("The time zone defaults to UTC")
    func defaultZone() throws {
        let crontab = try Crontab("0 9 * * *")
        #expect(crontab.timeZone == "UTC")
        #expect(crontab.next(after: at("2026-01-01T00:00:00Z")) == at("2026-01-01T09:00:00Z"))
    }

    @Test("An unknown time zone name is refused, after the expression is checked")
    func unknownZone() {
        expectScheduleError(.unknownTimeZone("Mars/Olympus_Mons")) { () throws(ScheduleError) in
            try Crontab("* * * * *", timeZone: "Mars/Olympus_Mons")
        }
        expectScheduleError(.unknownTimeZone("")) { () throws(ScheduleError) in try Crontab("* * * * *", timeZone: "") }
        expectScheduleError(.unknownTimeZone("europe/berlin")) { () throws(ScheduleError) in
            try Crontab("* * * * *", timeZone: "europe/berlin")
        }
        expectScheduleError(.valueOutOfRange(field: .minute, value: 61, range: 0...59)) { () throws(ScheduleError) in
            try Crontab("61 * * * *", timeZone: "Mars/Olympus_Mons")
        }
    }

    @Test("Crontabs are equal when expression and zone are equal")
    func equality() throws {
        #expect(try Crontab("*/5 * * * *", timeZone: "Europe/Berlin") == Crontab("*/5 * * * *", timeZone: "Europe/Berlin"))
        #expect(try Crontab("*/5 * * * *") != Crontab("*/5 * * * *", timeZone: "Europe/Berlin"))
        #expect(try Crontab("*/5 * * * *") != Crontab("*/10 * * * *"))
    }

    @Test("Field names and ranges are what error messages print")
    func fieldNames() {
        #expect(CronField.allCases.map(\.name) == ["minute", "hour", "day-of-month", "month", "day-of-week"])
        #expect(CronField.allCases.map(\.range) == [0...59, 0...23, 1...31, 1...12, 0...7])
    }
}
