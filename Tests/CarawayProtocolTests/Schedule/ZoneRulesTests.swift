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

import Foundation

/// Our own tzdata reader (TZif transitions + the POSIX footer rule) against Foundation's
/// TimeZone, over 1900–2100, for zones with northern, southern, half-hour, 45-minute and no DST.
@Suite struct ZoneRulesAgreementTests {
    @Test(arguments: ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "America/Sao_Paulo",
                      "Pacific/Chatham", "Africa/Casablanca", "America/Santiago", "Europe/London", "Etc/GMT+5", "UTC"])
    func offsetsAgreeWithFoundationFrom1900To2100(zone: String) throws {
        let ours = try #require(ZoneRules(identifier: zone))
        let theirs = try #require(TimeZone(identifier: zone))
        var mismatches: [String] = []
        var t: Int64 = -2_208_988_800          // 1900-01-01
        let end: Int64 = 4_102_444_800         // 2100-01-01
        while t < end && mismatches.count < 5 {
            let expected = Int64(theirs.secondsFromGMT(for: Date(timeIntervalSince1970: Double(t))))
            if ours.offset(at: t) != expected { mismatches.append("\(t): ours \(ours.offset(at: t)), Foundation \(expected)") }
            t += 6 * 3600 + 1_777   // irregular step: hits every season, hour and weekday
        }
        #expect(mismatches.isEmpty, "\(zone): \(mismatches)")
    }

    @Test func pathsAndNonsenseAreNotZones() {
        #expect(ZoneRules(identifier: "../../etc/passwd") == nil)
        #expect(ZoneRules(identifier: "/etc/localtime") == nil)
        #expect(ZoneRules(identifier: "Mars/Olympus_Mons") == nil)
    }

    @Test func posixRulesParseBothHemispheres() throws {
        let berlin = try #require(PosixZoneRule("CET-1CEST,M3.5.0,M10.5.0/3"))
        #expect(berlin.offset(at: 1_781_000_000) == 7200)    // 2026-06
        #expect(berlin.offset(at: 1_767_225_600) == 3600)    // 2026-01-01
        let sydney = try #require(PosixZoneRule("AEST-10AEDT,M10.1.0,M4.1.0/3"))
        #expect(sydney.offset(at: 1_767_225_600) == 39_600)  // January: summer
        #expect(sydney.offset(at: 1_781_000_000) == 36_000)  // June: winter
        #expect(PosixZoneRule("<+0530>-5:30")?.offset(at: 0) == 19_800)
        #expect(PosixZoneRule("nonsense,") == nil)
    }
}
