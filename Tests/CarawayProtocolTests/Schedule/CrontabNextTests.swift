import Testing

@testable import CarawayProtocol

@Suite("Crontab next run")
struct CrontabNextTests {
    /// The next `count` runs after `start`, as ISO strings for readable failures.
    private func runs(_ expression: String, zone: String = "UTC", after start: String, count: Int = 1) throws -> [String] {
        let crontab = try Crontab(expression, timeZone: zone)
        var t = at(start)
        var result: [String] = []
        for _ in 0..<count {
            guard let next = crontab.next(after: t) else { break }
            result.append(Timestamp.format(next))
            t = next
        }
        return result
    }

    private func iso(_ texts: String...) -> [String] {
        texts.map { Timestamp.format(at($0)) }
    }

    @Test("The next run is the first whole matching minute strictly after the given time")
    func strictlyAfter() throws {
        #expect(try runs("* * * * *", after: "2026-01-01T00:00:00Z") == iso("2026-01-01T00:01:00Z"))
        #expect(try runs("* * * * *", after: "2026-01-01T00:00:30.5Z") == iso("2026-01-01T00:01:00Z"))
        #expect(try runs("* * * * *", after: "2026-01-01T00:00:59.999Z") == iso("2026-01-01T00:01:00Z"))
        #expect(try runs("*/15 * * * *", after: "2026-01-01T10:07:00Z", count: 3)
            == iso("2026-01-01T10:15:00Z", "2026-01-01T10:30:00Z", "2026-01-01T10:45:00Z"))
        #expect(try runs("*/15 * * * *", after: "2026-01-01T10:45:00Z") == iso("2026-01-01T11:00:00Z"))
    }

    @Test("Weekday ranges skip the weekend")
    func weekdays() throws {
        // 2026-01-02 is a Friday.
        #expect(try runs("30 9 * * mon-fri", after: "2026-01-02T09:30:00Z", count: 2)
            == iso("2026-01-05T09:30:00Z", "2026-01-06T09:30:00Z"))
    }

    @Test("Runs cross day, month and year boundaries")
    func yearBoundaries() throws {
        #expect(try runs("0 0 1 1 *", after: "2026-06-15T00:00:00Z", count: 2) == iso("2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"))
        #expect(try runs("59 23 31 12 *", after: "2026-12-31T23:59:00Z") == iso("2027-12-31T23:59:00Z"))
        #expect(try runs("0 12 * * *", after: "2026-12-31T12:00:00Z") == iso("2027-01-01T12:00:00Z"))
        #expect(try runs("* * * * *", after: "2026-12-31T23:59:00Z") == iso("2027-01-01T00:00:00Z"))
        #expect(try runs("0 0 1 1 *", after: "1969-06-01T00:00:00Z") == iso("1970-01-01T00:00:00Z"))
        #expect(try runs("0 0 * * *", after: "1969-12-31T12:00:00Z") == iso("1970-01-01T00:00:00Z"))
    }

    @Test("Day 31 runs only in 31-day months and day 30 skips February")
    func monthEnds() throws {
        #expect(try runs("0 0 31 * *", after: "2026-01-31T00:00:00Z", count: 4)
            == iso("2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z"))
        #expect(try runs("0 0 30 * *", after: "2026-01-30T00:00:00Z") == iso("2026-03-30T00:00:00Z"))
        #expect(try runs("0 0 29 * *", after: "2026-01-29T00:00:00Z") == iso("2026-03-29T00:00:00Z"))
        #expect(try runs("0 0 29 * *", after: "2028-01-29T00:00:00Z") == iso("2028-02-29T00:00:00Z"))
    }

    @Test("Feb 29 waits for the next leap year, across a skipped century")
    func leapDay() throws {
        #expect(try runs("0 0 29 2 *", after: "2026-01-01T00:00:00Z", count: 2) == iso("2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"))
        #expect(try runs("0 0 29 2 *", after: "2096-03-01T00:00:00Z") == iso("2104-02-29T00:00:00Z"))
        #expect(try runs("0 0 29 2 *", after: "2399-03-01T00:00:00Z") == iso("2400-02-29T00:00:00Z"))
    }

    @Test("Dates that never exist give nil")
    func impossibleDates() throws {
        for expression in ["0 0 30 2 *", "0 0 31 2 *", "0 0 31 4,6,9,11 *", "0 0 30 2 */2"] {
            #expect(try Crontab(expression).next(after: at("2026-01-01T00:00:00Z")) == nil, "\(expression)")
        }
    }

    @Test("When both day fields are restricted either one matching is enough")
    func dayOrRule() throws {
        // 2026-04-13 is a Monday, 2026-05-13 a Wednesday.
        #expect(try runs("0 0 13 * 5", after: "2026-04-01T00:00:00Z", count: 9) == iso(
            "2026-04-03T00:00:00Z", "2026-04-10T00:00:00Z", "2026-04-13T00:00:00Z", "2026-04-17T00:00:00Z",
            "2026-04-24T00:00:00Z", "2026-05-01T00:00:00Z", "2026-05-08T00:00:00Z", "2026-05-13T00:00:00Z",
            "2026-05-15T00:00:00Z"))
        // February is restricted too: the OR covers days, not months.
        #expect(try runs("0 0 1 2 mon", after: "2026-01-01T00:00:00Z", count: 3)
            == iso("2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z", "2026-02-09T00:00:00Z"))
    }

    @Test("When one day field is a wildcard only the other one decides")
    func dayAndRule() throws {
        #expect(try runs("0 0 13 * *", after: "2026-04-01T00:00:00Z", count: 2) == iso("2026-04-13T00:00:00Z", "2026-05-13T00:00:00Z"))
        #expect(try runs("0 0 * * 5", after: "2026-04-01T00:00:00Z", count: 2) == iso("2026-04-03T00:00:00Z", "2026-04-10T00:00:00Z"))
        // `*/2` starts with `*`, so as in Vixie cron both fields must match: odd-day Mondays.
        #expect(try runs("0 0 */2 * 1", after: "2026-04-01T00:00:00Z", count: 4) == iso(
            "2026-04-13T00:00:00Z", "2026-04-27T00:00:00Z", "2026-05-11T00:00:00Z", "2026-05-25T00:00:00Z"))
        // Likewise `*/2` in day-of-week: 13ths that fall on Sunday, Tuesday, Thursday or Saturday.
        #expect(try runs("0 0 13 * */2", after: "2026-01-01T00:00:00Z", count: 2) == iso("2026-01-13T00:00:00Z", "2026-06-13T00:00:00Z"))
    }

    @Test("Sunday is both 0 and 7")
    func sunday() throws {
        // 2026-04-05 is a Sunday.
        #expect(try runs("0 8 * * 7", after: "2026-04-01T00:00:00Z") == iso("2026-04-05T08:00:00Z"))
        #expect(try runs("0 8 * * 0", after: "2026-04-01T00:00:00Z") == iso("2026-04-05T08:00:00Z"))
        #expect(try runs("@weekly", after: "2026-04-01T00:00:00Z") == iso("2026-04-05T00:00:00Z"))
    }

    @Test("Macros run at their documented times")
    func macroTimes() throws {
        let start = "2026-04-15T10:20:00Z"
        #expect(try runs("@hourly", after: start) == iso("2026-04-15T11:00:00Z"))
        #expect(try runs("@daily", after: start) == iso("2026-04-16T00:00:00Z"))
        #expect(try runs("@midnight", after: start) == iso("2026-04-16T00:00:00Z"))
        #expect(try runs("@monthly", after: start) == iso("2026-05-01T00:00:00Z"))
        #expect(try runs("@yearly", after: start) == iso("2027-01-01T00:00:00Z"))
        #expect(try runs("@annually", after: start) == iso("2027-01-01T00:00:00Z"))
    }

    @Test("Wall times follow fixed and half-hour offsets")
    func fixedOffsets() throws {
        #expect(try runs("0 9 * * *", zone: "Asia/Kolkata", after: "2026-01-01T00:00:00Z") == iso("2026-01-01T03:30:00Z"))
        #expect(try runs("0 9 * * *", zone: "Etc/GMT-5", after: "2026-01-01T00:00:00Z") == iso("2026-01-01T04:00:00Z"))
        #expect(try runs("0 9 * * *", zone: "America/New_York", after: "2026-07-01T00:00:00Z") == iso("2026-07-01T13:00:00Z"))
    }

    @Test("New York spring forward: a skipped time fires once when the clock jumps")
    func newYorkSpringForward() throws {
        // 2026-03-08 02:00 EST becomes 03:00 EDT at 07:00Z; 02:00–02:59 does not exist.
        let zone = "America/New_York"
        #expect(try runs("30 2 * * *", zone: zone, after: "2026-03-08T05:00:00Z", count: 2)
            == iso("2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"))
        #expect(try runs("0 2 * * *", zone: zone, after: "2026-03-08T05:00:00Z") == iso("2026-03-08T07:00:00Z"))
        #expect(try runs("*/15 * * * *", zone: zone, after: "2026-03-08T06:45:00Z", count: 2)
            == iso("2026-03-08T07:00:00Z", "2026-03-08T07:15:00Z"))
        #expect(try runs("0 * * * *", zone: zone, after: "2026-03-08T05:30:00Z", count: 3)
            == iso("2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"))
        #expect(try runs("30 3 * * *", zone: zone, after: "2026-03-08T05:00:00Z") == iso("2026-03-08T07:30:00Z"))
        #expect(try runs("30 2 * * *", zone: zone, after: "2026-03-08T06:59:59.5Z") == iso("2026-03-08T07:00:00Z"))
    }

    @Test("New York fall back: a repeated time fires once, at its first occurrence")
    func newYorkFallBack() throws {
        // 2026-11-01 02:00 EDT becomes 01:00 EST at 06:00Z; 01:00–01:59 is shown twice.
        let zone = "America/New_York"
        #expect(try runs("30 1 * * *", zone: zone, after: "2026-11-01T04:00:00Z", count: 2)
            == iso("2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"))
        #expect(try runs("0 * * * *", zone: zone, after: "2026-11-01T04:30:00Z", count: 3)
            == iso("2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"))
        // Asked during the repeat (01:10 EST), the repeated quarter hours already ran.
        #expect(try runs("*/15 * * * *", zone: zone, after: "2026-11-01T06:10:00Z") == iso("2026-11-01T07:00:00Z"))
        #expect(try runs("30 2 * * *", zone: zone, after: "2026-11-01T04:00:00Z") == iso("2026-11-01T07:30:00Z"))
    }

    @Test("Berlin spring forward: a skipped time fires once when the clock jumps")
    func berlinSpringForward() throws {
        // 2026-03-29 02:00 CET becomes 03:00 CEST at 01:00Z.
        let zone = "Europe/Berlin"
        #expect(try runs("30 2 * * *", zone: zone, after: "2026-03-28T23:00:00Z", count: 2)
            == iso("2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"))
        #expect(try runs("0 3 * * *", zone: zone, after: "2026-03-28T23:00:00Z") == iso("2026-03-29T01:00:00Z"))
        #expect(try runs("0 * * * *", zone: zone, after: "2026-03-28T23:30:00Z", count: 3)
            == iso("2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"))
    }

    @Test("Berlin fall back: a repeated time fires once, at its first occurrence")
    func berlinFallBack() throws {
        // 2026-10-25 03:00 CEST becomes 02:00 CET at 01:00Z; 02:00–02:59 is shown twice.
        let zone = "Europe/Berlin"
        #expect(try runs("30 2 * * *", zone: zone, after: "2026-10-24T22:00:00Z", count: 2)
            == iso("2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"))
        #expect(try runs("0 * * * *", zone: zone, after: "2026-10-24T23:30:00Z", count: 3)
            == iso("2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"))
    }

    @Test("Sydney's transitions go the other way round the calendar with the same rules")
    func sydney() throws {
        let zone = "Australia/Sydney"
        // 2026-04-05 03:00 AEDT becomes 02:00 AEST at 16:00Z on Apr 4: 02:30 repeats.
        #expect(try runs("30 2 * * *", zone: zone, after: "2026-04-04T13:00:00Z", count: 2)
            == iso("2026-04-04T15:30:00Z", "2026-04-05T16:30:00Z"))
        // 2026-10-04 02:00 AEST becomes 03:00 AEDT at 16:00Z on Oct 3: 02:30 is skipped.
        #expect(try runs("30 2 * * *", zone: zone, after: "2026-10-03T14:00:00Z", count: 2)
            == iso("2026-10-03T16:00:00Z", "2026-10-04T15:30:00Z"))
    }

    @Test("Times that are not finite or absurdly far away give nil")
    func outOfRangeTimes() throws {
        let crontab = try Crontab("* * * * *")
        #expect(crontab.next(after: .nan) == nil)
        #expect(crontab.next(after: .infinity) == nil)
        #expect(crontab.next(after: -.infinity) == nil)
        #expect(crontab.next(after: 1e15) == nil)
    }

    @Test("The field-skipping search agrees with a minute-by-minute scan")
    func agreesWithScan() throws {
        let expressions = [
            "*/7 * * * *", "0 */5 * * *", "15,45 8-18/3 * * mon-fri", "0 0 13 * 5", "30 4 1,15 * *",
            "0 0 */2 * 1", "0 0 13 * */2", "5/20 1-3 * jan,jun-aug sun", "0 12 31 * *", "@weekly", "59 23 * * 6,0",
        ]
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for expression in expressions {
            let crontab = try Crontab(expression)
            for _ in 0..<5 {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let t = at("2024-01-01T00:00:00Z") + Double(seed >> 33 % 100_000_000) + 0.25
                let expected = scan(crontab, after: t, minutes: 300_000)
                #expect(crontab.next(after: t) == expected, "\(expression) after \(Timestamp.format(t))")
            }
        }
    }

    /// Reference: test every minute after `t` in UTC with the plain cron rules.
    private func scan(_ crontab: Crontab, after t: Double, minutes: Int) -> Double? {
        var minute = Int64((t / 60).rounded(.down)) + 1
        for _ in 0..<minutes {
            let days = minute >= 0 ? minute / 1440 : (minute - 1439) / 1440
            let (_, month, day) = Timestamp.civil(fromDays: days)
            let inDay = Int(minute - days * 1440)
            let weekday = Int(((days % 7) + 11) % 7)
            func has(_ bits: UInt64, _ n: Int) -> Bool { bits & (1 << UInt64(n)) != 0 }
            let byMonthDay = has(crontab.daysOfMonth, day)
            let byWeekday = has(crontab.daysOfWeek, weekday)
            let dayMatches = crontab.dayOfMonthIsWildcard || crontab.dayOfWeekIsWildcard
                ? byMonthDay && byWeekday : byMonthDay || byWeekday
            if has(crontab.minutes, inDay % 60) && has(crontab.hours, inDay / 60) && has(crontab.months, month) && dayMatches {
                return Double(minute * 60)
            }
            minute += 1
        }
        return nil
    }

    @Test("Ten thousand searches on sparse expressions stay fast")
    func performance() throws {
        let sparse = [
            try Crontab("0 0 29 2 *"), try Crontab("0 9 13 * 5", timeZone: "America/New_York"),
            try Crontab("30 2 * * 0", timeZone: "Europe/Berlin"), try Crontab("0 0 30 2 *"),
        ]
        let clock = ContinuousClock()
        var found = 0
        let elapsed = clock.measure {
            for crontab in sparse {
                var t = at("2026-01-01T00:00:00Z")
                for _ in 0..<2_500 {
                    t += 3_607.5
                    if crontab.next(after: t) != nil { found += 1 }
                }
            }
        }
        #expect(found == 7_500)
        #expect(elapsed < .seconds(5), "10,000 next() calls took \(elapsed)")
    }
}
