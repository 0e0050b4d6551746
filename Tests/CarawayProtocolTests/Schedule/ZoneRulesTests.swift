import Testing

@testable import CarawayProtocol

@Suite("Zone rules")
struct ZoneRulesTests {
    private func seconds(_ text: String) -> Int64 { Int64(at(text)) }
    /// A wall time written as if it were UTC.
    private func wall(_ text: String) -> Int64 { Int64(at(text + "Z")) }

    @Test("Offsets follow the zone's daylight saving time")
    func offsets() throws {
        let newYork = try #require(ZoneRules(identifier: "America/New_York"))
        #expect(newYork.offset(at: seconds("2026-01-15T12:00:00Z")) == -5 * 3600)
        #expect(newYork.offset(at: seconds("2026-07-15T12:00:00Z")) == -4 * 3600)
        #expect(newYork.wall(at: seconds("2026-07-15T12:00:00Z")) == wall("2026-07-15T08:00:00"))
        #expect(newYork.fixedOffset == nil)
    }

    @Test("UTC and Etc zones need no lookups")
    func fixedZones() throws {
        #expect(try #require(ZoneRules(identifier: "UTC")).fixedOffset == 0)
        #expect(try #require(ZoneRules(identifier: "Etc/GMT-5")).fixedOffset == 5 * 3600)
        #expect(try #require(ZoneRules(identifier: "Etc/GMT-5")).firstInstant(atWall: wall("2026-03-08T09:00:00"))
            == seconds("2026-03-08T04:00:00Z"))
    }

    @Test("Unknown names, and names in the wrong case, are not zones")
    func unknownNames() {
        #expect(ZoneRules(identifier: "Mars/Olympus_Mons") == nil)
        #expect(ZoneRules(identifier: "") == nil)
        #expect(ZoneRules(identifier: "america/new_york") == nil)
    }

    @Test("An ordinary wall time maps to its only instant")
    func ordinary() throws {
        let berlin = try #require(ZoneRules(identifier: "Europe/Berlin"))
        #expect(berlin.firstInstant(atWall: wall("2026-01-15T09:00:00")) == seconds("2026-01-15T08:00:00Z"))
        #expect(berlin.firstInstant(atWall: wall("2026-07-15T09:00:00")) == seconds("2026-07-15T07:00:00Z"))
    }

    @Test("A wall time in a spring-forward gap maps to the end of the gap")
    func gap() throws {
        let newYork = try #require(ZoneRules(identifier: "America/New_York"))
        for time in ["02:00:00", "02:30:00", "02:59:00", "03:00:00"] {
            #expect(newYork.firstInstant(atWall: wall("2026-03-08T" + time)) == seconds("2026-03-08T07:00:00Z"), "\(time)")
        }
        #expect(newYork.firstInstant(atWall: wall("2026-03-08T01:59:00")) == seconds("2026-03-08T06:59:00Z"))
        let berlin = try #require(ZoneRules(identifier: "Europe/Berlin"))
        #expect(berlin.firstInstant(atWall: wall("2026-03-29T02:30:00")) == seconds("2026-03-29T01:00:00Z"))
    }

    @Test("A wall time repeated by a fall-back maps to its first occurrence")
    func overlap() throws {
        let newYork = try #require(ZoneRules(identifier: "America/New_York"))
        #expect(newYork.firstInstant(atWall: wall("2026-11-01T01:30:00")) == seconds("2026-11-01T05:30:00Z"))
        #expect(newYork.firstInstant(atWall: wall("2026-11-01T02:00:00")) == seconds("2026-11-01T07:00:00Z"))
        let berlin = try #require(ZoneRules(identifier: "Europe/Berlin"))
        #expect(berlin.firstInstant(atWall: wall("2026-10-25T02:00:00")) == seconds("2026-10-25T00:00:00Z"))
        #expect(berlin.firstInstant(atWall: wall("2026-10-25T02:59:00")) == seconds("2026-10-25T00:59:00Z"))
        #expect(berlin.firstInstant(atWall: wall("2026-10-25T03:00:00")) == seconds("2026-10-25T02:00:00Z"))
    }
}
