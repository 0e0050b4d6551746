import Testing

@testable import CarawayProtocol

@Suite("Misfire policy")
struct MisfirePolicyTests {
    /// An anchor on a whole minute, so interval ticks read as offsets from it.
    private let a = 1_800_000_000.0

    private func minutely() throws -> Schedule { .interval(try IntervalSchedule(every: 60)) }

    private func plan(_ schedule: Schedule, next: Double, now: Double, _ policy: MisfirePolicy,
                      tolerance: Double = 1.0) -> (ticks: [Double], newNextRunAt: Double?) {
        MisfirePolicy.plan(schedule: schedule, nextRunAt: next, now: now, anchor: a, policy: policy, tolerance: tolerance)
    }

    @Test("Policies parse from the misfire column and print back the same text")
    func parsing() throws {
        #expect(try MisfirePolicy("skip") == .skip)
        #expect(try MisfirePolicy("once") == .once)
        #expect(try MisfirePolicy("catch_up:3") == .catchUp(max: 3))
        #expect(try MisfirePolicy("catch_up:1000") == .catchUp(max: 1000))
        for text in ["skip", "once", "catch_up:1", "catch_up:25"] {
            #expect(try MisfirePolicy(text).description == text)
        }
    }

    @Test("Other misfire texts are refused with the text")
    func parsingErrors() {
        for bad in ["", "Skip", "ONCE", "catch_up", "catch_up:", "catch_up:0", "catch_up:-1", "catch_up:1001",
                    "catch_up:x", "catchup:3", "catch_up:3 ", "catch_up:99999999999999999999"] {
            expectScheduleError(.invalidMisfirePolicy(bad)) { () throws(ScheduleError) in try MisfirePolicy(bad) }
        }
    }

    @Test("Nothing is due before the stored next run")
    func notDue() throws {
        for policy in [MisfirePolicy.skip, .once, .catchUp(max: 5)] {
            let result = plan(try minutely(), next: a + 60, now: a + 30, policy)
            #expect(result.ticks == [] && result.newNextRunAt == a + 60)
        }
    }

    @Test("An on-time tick fires under every policy")
    func onTime() throws {
        for policy in [MisfirePolicy.skip, .once, .catchUp(max: 5)] {
            let result = plan(try minutely(), next: a + 60, now: a + 60.4, policy)
            #expect(result.ticks == [a + 60] && result.newNextRunAt == a + 120, "\(policy)")
            // Exactly the tolerance late is still on time.
            let edge = plan(try minutely(), next: a + 60, now: a + 61, policy)
            #expect(edge.ticks == [a + 60] && edge.newNextRunAt == a + 120, "\(policy)")
        }
    }

    @Test("A tick later than the tolerance is missed and the policy decides")
    func slightlyLate() throws {
        #expect(plan(try minutely(), next: a + 60, now: a + 62, .skip) == ([], a + 120))
        #expect(plan(try minutely(), next: a + 60, now: a + 62, .once) == ([a + 60], a + 120))
        #expect(plan(try minutely(), next: a + 60, now: a + 62, .catchUp(max: 3)) == ([a + 60], a + 120))
        #expect(plan(try minutely(), next: a + 60, now: a + 60.5, .skip, tolerance: 0) == ([], a + 120))
        #expect(plan(try minutely(), next: a + 60, now: a + 60, .skip, tolerance: 0) == ([a + 60], a + 120))
    }

    @Test("After downtime ending on a tick, skip and once fire only that tick and catch-up replays the missed ones first")
    func downtimeEndingOnTick() throws {
        // Due: a+60 … a+600 (10 ticks); a+600 is 0.5 s late, the others are missed.
        let now = a + 600.5
        #expect(plan(try minutely(), next: a + 60, now: now, .skip) == ([a + 600], a + 660))
        #expect(plan(try minutely(), next: a + 60, now: now, .once) == ([a + 600], a + 660))
        #expect(plan(try minutely(), next: a + 60, now: now, .catchUp(max: 3)) == ([a + 420, a + 480, a + 540, a + 600], a + 660))
    }

    @Test("After downtime between ticks, skip fires nothing, once the latest and catch-up the latest N")
    func downtimeBetweenTicks() throws {
        let now = a + 630
        #expect(plan(try minutely(), next: a + 60, now: now, .skip) == ([], a + 660))
        #expect(plan(try minutely(), next: a + 60, now: now, .once) == ([a + 600], a + 660))
        #expect(plan(try minutely(), next: a + 60, now: now, .catchUp(max: 3)) == ([a + 480, a + 540, a + 600], a + 660))
        #expect(plan(try minutely(), next: a + 60, now: now, .catchUp(max: 100))
            == ((1...10).map { a + Double($0) * 60 }, a + 660))
    }

    @Test("An off-grid stored next run counts as the first due tick")
    func offGridNextRun() throws {
        #expect(plan(try minutely(), next: a + 45, now: a + 200, .catchUp(max: 10)) == ([a + 45, a + 60, a + 120, a + 180], a + 240))
    }

    @Test("Ticks within the tolerance are all on time")
    func severalOnTime() throws {
        let halfSecond = Schedule.interval(try IntervalSchedule(every: 0.5))
        #expect(plan(halfSecond, next: a + 0.5, now: a + 1.5, .skip) == ([a + 0.5, a + 1, a + 1.5], a + 2))
        #expect(plan(halfSecond, next: a + 0.5, now: a + 1.5, .once) == ([a + 1.5], a + 2))
    }

    @Test("Crontab misfires fire the expected ticks")
    func crontab() throws {
        let quarterly = Schedule.crontab(try Crontab("*/15 * * * *"))
        let next = at("2026-01-01T00:00:00Z")
        let now = at("2026-01-01T02:00:00.5Z")
        let after = at("2026-01-01T02:15:00Z")
        #expect(plan(quarterly, next: next, now: now, .skip) == ([at("2026-01-01T02:00:00Z")], after))
        #expect(plan(quarterly, next: next, now: now, .once) == ([at("2026-01-01T02:00:00Z")], after))
        #expect(plan(quarterly, next: next, now: now, .catchUp(max: 2))
            == ([at("2026-01-01T01:30:00Z"), at("2026-01-01T01:45:00Z"), at("2026-01-01T02:00:00Z")], after))
        #expect(plan(quarterly, next: next, now: at("2026-01-01T00:40:00Z"), .catchUp(max: 9))
            == ([at("2026-01-01T00:00:00Z"), at("2026-01-01T00:15:00Z"), at("2026-01-01T00:30:00Z")], at("2026-01-01T00:45:00Z")))
    }

    @Test("A year of crontab downtime is planned from the end, not replayed")
    func crontabYearOfDowntime() throws {
        let daily = Schedule.crontab(try Crontab("0 9 * * *"))
        let next = at("2025-01-01T09:00:00Z")
        let now = at("2026-01-01T12:00:00Z")
        let after = at("2026-01-02T09:00:00Z")
        #expect(plan(daily, next: next, now: now, .skip) == ([], after))
        #expect(plan(daily, next: next, now: now, .once) == ([at("2026-01-01T09:00:00Z")], after))
        #expect(plan(daily, next: next, now: now, .catchUp(max: 3))
            == ([at("2025-12-30T09:00:00Z"), at("2025-12-31T09:00:00Z"), at("2026-01-01T09:00:00Z")], after))

        let everyMinute = Schedule.crontab(try Crontab("* * * * *"))
        let clock = ContinuousClock()
        var result: (ticks: [Double], newNextRunAt: Double?) = ([], nil)
        let elapsed = clock.measure {
            result = plan(everyMinute, next: at("2025-01-01T00:00:00Z"), now: at("2026-01-01T00:00:30Z"), .catchUp(max: 1000))
        }
        #expect(result.ticks.count == 1000)
        #expect(result.ticks.last == at("2026-01-01T00:00:00Z"))
        #expect(result.ticks.first == at("2026-01-01T00:00:00Z") - 999 * 60)
        #expect(result.newNextRunAt == at("2026-01-01T00:01:00Z"))
        #expect(elapsed < .seconds(2), "took \(elapsed)")
    }

    @Test("A year of downtime on a one-second interval is planned promptly")
    func yearOfDowntimeOnOneSecond() throws {
        let everySecond = Schedule.interval(try IntervalSchedule(every: 1))
        let year = 365.0 * 86_400
        let now = a + year + 0.25
        let clock = ContinuousClock()
        var results: [(ticks: [Double], newNextRunAt: Double?)] = []
        let elapsed = clock.measure {
            for policy in [MisfirePolicy.skip, .once, .catchUp(max: 1000)] {
                results.append(plan(everySecond, next: a + 1, now: now, policy))
            }
        }
        #expect(elapsed < .seconds(1), "took \(elapsed)")
        #expect(results[0] == ([a + year], a + year + 1))
        #expect(results[1] == ([a + year], a + year + 1))
        // The 1000 latest missed ticks, then the on-time one.
        #expect(results[2].ticks == (0...1000).map { a + year - 1000 + Double($0) })
        #expect(results[2].newNextRunAt == a + year + 1)
    }

    @Test("Catch-up is capped even when the policy is built by hand")
    func catchUpCap() throws {
        let result = plan(try minutely(), next: a, now: a + 86_400 * 30 + 30, .catchUp(max: 5000))
        #expect(result.ticks.count == MisfirePolicy.maximumCatchUp)
    }

    @Test("A one-off fires once when due and is then exhausted")
    func oneOff() {
        let schedule = Schedule.oneOff(OneOffSchedule(at: a))
        #expect(plan(schedule, next: a, now: a - 1, .once) == ([], a))
        #expect(plan(schedule, next: a, now: a + 0.2, .skip) == ([a], nil))
        #expect(plan(schedule, next: a, now: a + 3600, .skip) == ([], nil))
        #expect(plan(schedule, next: a, now: a + 3600, .once) == ([a], nil))
        #expect(plan(schedule, next: a, now: a + 3600, .catchUp(max: 5)) == ([a], nil))
    }

    @Test("A crontab that can never match again is exhausted after its last tick")
    func exhaustedCrontab() throws {
        // Stored next run from before an edit; the new expression never matches.
        let never = Schedule.crontab(try Crontab("0 0 30 2 *"))
        #expect(plan(never, next: a, now: a + 10, .once) == ([a], nil))
    }
}

/// Tuple comparison for plans, so expectations read as `(ticks, next)`.
private func == (lhs: (ticks: [Double], newNextRunAt: Double?), rhs: ([Double], Double?)) -> Bool {
    lhs.ticks == rhs.0 && lhs.newNextRunAt == rhs.1
}
