import Testing

@testable import CarawayProtocol

@Suite("Schedule")
struct ScheduleTests {
    @Test("next(after:anchor:) dispatches to each kind, and only intervals use the anchor")
    func dispatch() throws {
        let interval = Schedule.interval(try IntervalSchedule(every: 60))
        #expect(interval.next(after: 1_000, anchor: 10) == 1_030)
        let crontab = Schedule.crontab(try Crontab("0 * * * *"))
        #expect(crontab.next(after: at("2026-01-01T00:30:00Z"), anchor: 17) == at("2026-01-01T01:00:00Z"))
        let oneOff = Schedule.oneOff(OneOffSchedule(at: 5_000))
        #expect(oneOff.next(after: 4_999, anchor: 0) == 5_000)
        #expect(oneOff.next(after: 5_000, anchor: 0) == nil)
    }

    @Test("Only one-offs are one-offs")
    func isOneOff() throws {
        #expect(Schedule.oneOff(OneOffSchedule(at: 1)).isOneOff)
        #expect(!Schedule.interval(try IntervalSchedule(every: 1)).isOneOff)
        #expect(!Schedule.crontab(try Crontab("@daily")).isOneOff)
    }

    @Test("Latest ticks of an interval are counted, not enumerated")
    func latestIntervalTicks() throws {
        let schedule = Schedule.interval(try IntervalSchedule(every: 10))
        #expect(schedule.latestTicks(first: 100, in: 0, 150, limit: 3, anchor: 100) == [130, 140, 150])
        #expect(schedule.latestTicks(first: 100, in: 0, 150, limit: 10, anchor: 100) == [100, 110, 120, 130, 140, 150])
        #expect(schedule.latestTicks(first: 100, in: 125, 150, limit: 10, anchor: 100) == [130, 140, 150])
        #expect(schedule.latestTicks(first: 100, in: 130, 130, limit: 10, anchor: 100) == [130])
        // An off-grid first tick (the schedule was edited) still counts, then the grid resumes.
        #expect(schedule.latestTicks(first: 95, in: 0, 120, limit: 10, anchor: 100) == [95, 100, 110, 120])
        #expect(schedule.latestTicks(first: 105, in: 0, 120, limit: 10, anchor: 100) == [105, 110, 120])
        #expect(schedule.latestTicks(first: 100, in: 0, 99, limit: 10, anchor: 100) == [])
        #expect(schedule.latestTicks(first: 100, in: 0, 150, limit: 0, anchor: 100) == [])
    }

    @Test("Latest ticks of a crontab are found searching back from the end")
    func latestCrontabTicks() throws {
        let schedule = Schedule.crontab(try Crontab("0 9 * * *"))
        let ticks = schedule.latestTicks(first: at("2020-01-01T09:00:00Z"), in: -.infinity, at("2026-01-01T12:00:00Z"),
                                         limit: 3, anchor: 0)
        #expect(ticks == [at("2025-12-30T09:00:00Z"), at("2025-12-31T09:00:00Z"), at("2026-01-01T09:00:00Z")])
        let all = schedule.latestTicks(first: at("2025-12-30T09:00:00Z"), in: -.infinity, at("2026-01-01T09:00:00Z"),
                                       limit: 10, anchor: 0)
        #expect(all == [at("2025-12-30T09:00:00Z"), at("2025-12-31T09:00:00Z"), at("2026-01-01T09:00:00Z")])
    }

    @Test("Latest ticks of a one-off are the stored run and the instant, if in range")
    func latestOneOffTicks() {
        let schedule = Schedule.oneOff(OneOffSchedule(at: 500))
        #expect(schedule.latestTicks(first: 500, in: 0, 600, limit: 5, anchor: 0) == [500])
        #expect(schedule.latestTicks(first: 400, in: 0, 600, limit: 5, anchor: 0) == [400, 500])
        #expect(schedule.latestTicks(first: 500, in: 0, 499, limit: 5, anchor: 0) == [])
    }
}

@Suite struct ScheduleLimitsTests {
    @Test func unschedulableSchedulesSayWhy() throws {
        let tiny = try Schedule(json: ["kind": "interval", "every": 0.001])
        #expect(tiny.unschedulableReason(now: 0, anchor: 0)?.contains("at least") == true)
        let huge = try Schedule(json: ["kind": "interval", "every": 1e300])
        #expect(huge.unschedulableReason(now: 0, anchor: 0)?.contains("9999") == true)
        let fine = try Schedule(json: ["kind": "interval", "every": 60])
        #expect(fine.unschedulableReason(now: 0, anchor: 0) == nil)
    }

    @Test func timestampsClampInsteadOfTrapping() {
        #expect(Timestamp.format(.infinity).hasPrefix("9999-12-31"))
        #expect(Timestamp.format(-.infinity).hasPrefix("0001-01-01"))
        #expect(Timestamp.format(.nan).hasPrefix("1970-01-01"))
        #expect(!Timestamp.isRepresentable(1e300) && Timestamp.isRepresentable(0))
    }
}
