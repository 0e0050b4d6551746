import Testing

@testable import CarawayProtocol

@Suite("Interval schedule")
struct IntervalScheduleTests {
    @Test("Ticks are the anchor plus whole periods, strictly after the given time")
    func anchoring() throws {
        let every30 = try IntervalSchedule(every: 30)
        #expect(every30.next(after: 1000, anchor: 1000) == 1030)
        #expect(every30.next(after: 1029.9, anchor: 1000) == 1030)
        #expect(every30.next(after: 1030, anchor: 1000) == 1060)
        #expect(every30.next(after: 1045, anchor: 1000) == 1060)
        #expect(every30.next(after: 1_000_000, anchor: 1000) == 1_000_000 + 30)
    }

    @Test("The anchor is the first tick: there are none before it")
    func beforeAnchor() throws {
        let every30 = try IntervalSchedule(every: 30)
        #expect(every30.next(after: 999.5, anchor: 1000) == 1000)
        #expect(every30.next(after: 0, anchor: 1000) == 1000)
        #expect(every30.next(after: -.infinity, anchor: 1000) == 1000)
    }

    @Test("The cadence does not drift with late callers")
    func noDrift() throws {
        let hourly = try IntervalSchedule(every: 3600)
        let anchor = at("2026-01-01T00:17:00Z")
        // Asked 40 minutes late, the next tick is still at :17.
        #expect(hourly.next(after: at("2026-03-05T10:57:00Z"), anchor: anchor) == at("2026-03-05T11:17:00Z"))
    }

    @Test("Fractional periods never return a tick at or before the given time")
    func fractional() throws {
        let tenth = try IntervalSchedule(every: 0.1)
        var t = 1_800_000_000.0
        for k in 1...10_000 {
            let next = tenth.next(after: t, anchor: 1_800_000_000)
            #expect(next > t)
            #expect(next == 1_800_000_000 + Double(k) * 0.1)
            t = next
        }
    }

    @Test("Periods must be positive and finite")
    func invalidPeriods() {
        for bad in [0.0, -1, .infinity, -.infinity] {
            expectScheduleError(.nonPositiveInterval(bad)) { () throws(ScheduleError) in try IntervalSchedule(every: bad) }
        }
        let nanError = scheduleError { () throws(ScheduleError) in try IntervalSchedule(every: .nan) }
        guard case .nonPositiveInterval(let value)? = nanError else { Issue.record("\(String(describing: nanError))"); return }
        #expect(value.isNaN)
    }

    @Test("django-celery-beat's every and period columns convert to seconds")
    func djangoColumns() throws {
        #expect(try IntervalSchedule(every: 10, period: "seconds").every == 10)
        #expect(try IntervalSchedule(every: 5, period: "minutes").every == 300)
        #expect(try IntervalSchedule(every: 2, period: "hours").every == 7200)
        #expect(try IntervalSchedule(every: 1, period: "days").every == 86_400)
        expectScheduleError(.unknownPeriod("microseconds")) { () throws(ScheduleError) in try IntervalSchedule(every: 5, period: "microseconds") }
        expectScheduleError(.unknownPeriod("weeks")) { () throws(ScheduleError) in try IntervalSchedule(every: 1, period: "weeks") }
        expectScheduleError(.unknownPeriod("Minutes")) { () throws(ScheduleError) in try IntervalSchedule(every: 1, period: "Minutes") }
        expectScheduleError(.nonPositiveInterval(0)) { () throws(ScheduleError) in try IntervalSchedule(every: 0, period: "seconds") }
        expectScheduleError(.nonPositiveInterval(-3)) { () throws(ScheduleError) in try IntervalSchedule(every: -3, period: "hours") }
    }

    @Test("Interval text reads every N seconds, minutes, hours or days")
    func parsing() throws {
        #expect(try IntervalSchedule(parsing: "every 30 seconds").every == 30)
        #expect(try IntervalSchedule(parsing: "every 1 minute").every == 60)
        #expect(try IntervalSchedule(parsing: "Every 2 HOURS").every == 7200)
        #expect(try IntervalSchedule(parsing: "every 1.5 days").every == 129_600)
        #expect(try IntervalSchedule(parsing: "every minute").every == 60)
        #expect(try IntervalSchedule(parsing: "  every\t5   seconds ").every == 5)
        #expect(try IntervalSchedule(parsing: "every 0.5 second").every == 0.5)
    }

    @Test("Interval text of another shape is refused with the text")
    func parsingErrors() {
        expectScheduleError(.nonPositiveInterval(0)) { () throws(ScheduleError) in try IntervalSchedule(parsing: "every 0 seconds") }
        expectScheduleError(.unknownPeriod("weeks")) { () throws(ScheduleError) in try IntervalSchedule(parsing: "every 2 weeks") }
        expectScheduleError(.unknownPeriod("fortnight")) { () throws(ScheduleError) in try IntervalSchedule(parsing: "every fortnight") }
        for bad in ["30 seconds", "every -5 seconds", "every nan seconds", "every 1e3 seconds", "every 5", "every",
                    "", "every 5 seconds please", "every 1.2.3 hours", "every . hours"] {
            expectScheduleError(.malformedInterval(bad)) { () throws(ScheduleError) in try IntervalSchedule(parsing: bad) }
        }
    }
}
