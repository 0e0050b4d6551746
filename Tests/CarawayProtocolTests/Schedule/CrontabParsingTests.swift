import Testing

@testable import CarawayProtocol

@Suite("Crontab parsing")
struct CrontabParsingTests {
    private func values(_ text: Substring, _ field: CronField) throws -> [Int] {
        bitList(try Crontab.parseField(text, field))
    }

    @Test("Lists, ranges and steps expand to the values they name")
    func listsRangesSteps() throws {
        #expect(try values("1,2,5", .minute) == [1, 2, 5])
        #expect(try values("1-5", .minute) == [1, 2, 3, 4, 5])
        #expect(try values("*/15", .minute) == [0, 15, 30, 45])
        #expect(try values("10-50/5", .minute) == [10, 15, 20, 25, 30, 35, 40, 45, 50])
        #expect(try values("5/10", .minute) == [5, 15, 25, 35, 45, 55])
        #expect(try values("*", .minute) == Array(0...59))
        #expect(try values("0-10/3,30,45-47", .minute) == [0, 3, 6, 9, 30, 45, 46, 47])
        #expect(try values("07", .minute) == [7])
        #expect(try values("9-17/4", .hour) == [9, 13, 17])
        #expect(try values("*", .hour) == Array(0...23))
        #expect(try values("1,15,31", .dayOfMonth) == [1, 15, 31])
        #expect(try values("*/10", .dayOfMonth) == [1, 11, 21, 31])
        #expect(try values("*", .month) == Array(1...12))
    }

    @Test("A step larger than the range keeps only the first value")
    func oversizedStep() throws {
        #expect(try values("*/90", .minute) == [0])
        #expect(try values("30/45", .minute) == [30])
    }

    @Test("Month names are case-insensitive and work in lists, ranges and steps")
    func monthNames() throws {
        #expect(try values("jan,JUL", .month) == [1, 7])
        #expect(try values("Mar-May", .month) == [3, 4, 5])
        #expect(try values("jan-dec/3", .month) == [1, 4, 7, 10])
        #expect(try values("1,feb", .month) == [1, 2])
        #expect(try values("nov/1", .month) == [11, 12])
    }

    @Test("Day names, and 7 as Sunday, work in lists, ranges and steps")
    func dayNames() throws {
        #expect(try values("mon-fri", .dayOfWeek) == [1, 2, 3, 4, 5])
        #expect(try values("SUN", .dayOfWeek) == [0])
        #expect(try values("7", .dayOfWeek) == [0])
        #expect(try values("0,7", .dayOfWeek) == [0])
        #expect(try values("5-7", .dayOfWeek) == [0, 5, 6])
        #expect(try values("0-7", .dayOfWeek) == [0, 1, 2, 3, 4, 5, 6])
        #expect(try values("sat,sun", .dayOfWeek) == [0, 6])
        #expect(try values("*/2", .dayOfWeek) == [0, 2, 4, 6])
        #expect(try values("1/2", .dayOfWeek) == [1, 3, 5])
        #expect(try values("Tue-Thu", .dayOfWeek) == [2, 3, 4])
    }

    @Test("A day-of-week range ending on Sunday runs to the end of the week")
    func rangeEndingOnSunday() throws {
        #expect(try values("fri-sun", .dayOfWeek) == [0, 5, 6])
        #expect(try values("5-0", .dayOfWeek) == [0, 5, 6])
    }

    @Test("Only day fields whose text starts with * count as unrestricted")
    func wildcardFlags() throws {
        let stepped = try Crontab.parseFields("0 0 */2 * 1")
        #expect(stepped.dayOfMonthIsWildcard && !stepped.dayOfWeekIsWildcard)
        let full = try Crontab.parseFields("0 0 1-31 * *")
        #expect(!full.dayOfMonthIsWildcard && full.dayOfWeekIsWildcard)
    }

    @Test("Macros expand to their five-field equivalents, in any letter case")
    func macros() throws {
        let expected = [
            "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
            "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *", "@DAILY": "0 0 * * *",
            " @Hourly ": "0 * * * *",
        ]
        for (macro, expansion) in expected {
            #expect(try Crontab.parseFields(macro) == Crontab.parseFields(expansion), "\(macro)")
        }
    }

    @Test("Fields may be separated by any run of spaces and tabs")
    func whitespace() throws {
        #expect(try Crontab.parseFields("  */5\t*  * *   *  ") == Crontab.parseFields("*/5 * * * *"))
    }

    @Test("A wrong number of fields is reported with the count")
    func fieldCount() {
        expectScheduleError(.wrongFieldCount(expected: 5, got: 4)) { () throws(ScheduleError) in try Crontab("* * * *") }
        expectScheduleError(.wrongFieldCount(expected: 5, got: 0)) { () throws(ScheduleError) in try Crontab("   ") }
        expectScheduleError(.wrongFieldCount(expected: 5, got: 6)) { () throws(ScheduleError) in try Crontab("0 0 * * * 2026") }
    }

    @Test("Out-of-range values name the field, the value and the range")
    func outOfRange() {
        let cases: [(String, CronField, Int)] = [
            ("61 * * * *", .minute, 61), ("* 24 * * *", .hour, 24), ("* * 0 * *", .dayOfMonth, 0),
            ("* * 32 * *", .dayOfMonth, 32), ("* * * 13 *", .month, 13), ("* * * 0 *", .month, 0),
            ("* * * * 8", .dayOfWeek, 8), ("0-60 * * * *", .minute, 60), ("10-70/5 * * * *", .minute, 70),
            ("* 1,2,99 * * *", .hour, 99),
        ]
        for (expression, field, value) in cases {
            expectScheduleError(.valueOutOfRange(field: field, value: value, range: field.range)) {
                () throws(ScheduleError) in try Crontab(expression)
            }
        }
    }

    @Test("Unknown month and day names are reported as written")
    func unknownNames() {
        expectScheduleError(.unknownName(field: .dayOfWeek, name: "sunday")) { () throws(ScheduleError) in try Crontab("* * * * sunday") }
        expectScheduleError(.unknownName(field: .month, name: "Janu")) { () throws(ScheduleError) in try Crontab("* * * Janu *") }
        expectScheduleError(.unknownName(field: .dayOfWeek, name: "jan")) { () throws(ScheduleError) in try Crontab("* * * * jan") }
    }

    @Test("Names outside the month and day-of-week fields are malformed tokens")
    func namesElsewhere() {
        expectScheduleError(.malformedToken(field: .minute, token: "mon")) { () throws(ScheduleError) in try Crontab("mon * * * *") }
        expectScheduleError(.malformedToken(field: .dayOfMonth, token: "L")) { () throws(ScheduleError) in try Crontab("0 0 L * *") }
    }

    @Test("Malformed list items are reported with the item")
    func malformedItems() {
        let cases: [(String, CronField, String)] = [
            ("1- * * * *", .minute, "1-"), ("1,,2 * * * *", .minute, ""), ("1, * * * *", .minute, ""),
            ("*/5/2 * * * *", .minute, "*/5/2"), ("*/x * * * *", .minute, "*/x"), ("-5 * * * *", .minute, "-5"),
            ("* */ * * *", .hour, "*/"), ("* * * * 1-2-3", .dayOfWeek, "1-2-3"), ("* * ? * *", .dayOfMonth, "?"),
            ("+5 * * * *", .minute, "+5"), ("*-5 * * * *", .minute, "*-5"), ("* * * * mon#2", .dayOfWeek, "mon#2"),
        ]
        for (expression, field, token) in cases {
            expectScheduleError(.malformedToken(field: field, token: token)) { () throws(ScheduleError) in try Crontab(expression) }
        }
    }

    @Test("A zero step is refused")
    func zeroStep() {
        expectScheduleError(.nonPositiveStep(field: .minute, token: "*/0")) { () throws(ScheduleError) in try Crontab("*/0 * * * *") }
        expectScheduleError(.nonPositiveStep(field: .hour, token: "1-5/00")) { () throws(ScheduleError) in try Crontab("* 1-5/00 * * *") }
    }

    @Test("A range that runs backwards is refused rather than wrapped")
    func reversedRange() {
        expectScheduleError(.reversedRange(field: .hour, token: "17-9")) { () throws(ScheduleError) in try Crontab("* 17-9 * * *") }
        expectScheduleError(.reversedRange(field: .month, token: "dec-jan")) { () throws(ScheduleError) in try Crontab("* * * dec-jan *") }
        expectScheduleError(.reversedRange(field: .dayOfWeek, token: "sat-fri")) { () throws(ScheduleError) in try Crontab("* * * * sat-fri") }
    }

    @Test("Unknown macros, including @reboot, are refused")
    func unknownMacros() {
        expectScheduleError(.unknownMacro("@reboot")) { () throws(ScheduleError) in try Crontab("@reboot") }
        expectScheduleError(.unknownMacro("@daily 5")) { () throws(ScheduleError) in try Crontab("@daily 5") }
        expectScheduleError(.unknownMacro("@every 5m")) { () throws(ScheduleError) in try Crontab("@every 5m") }
    }

    @Test("Fields are checked left to right and the first problem wins")
    func firstProblemWins() {
        expectScheduleError(.valueOutOfRange(field: .minute, value: 61, range: 0...59)) {
            () throws(ScheduleError) in try Crontab("61 99 * * sunday")
        }
    }
}
