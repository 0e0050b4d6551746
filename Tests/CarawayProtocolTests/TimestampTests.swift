import Testing

@testable import CarawayProtocol

@Suite("Timestamp")
struct TimestampTests {
    @Test("Celery's ISO forms parse to the same instant")
    func parseForms() throws {
        let expected = 1_795_422_358.562587
        let forms = [
            "2026-11-23T08:25:58.562587+00:00", "2026-11-23T08:25:58.562587Z", "2026-11-23 08:25:58.562587",
            "2026-11-23T08:25:58.562587", "2026-11-23T03:25:58.562587-05:00", "2026-11-23T13:55:58.562587+05:30",
            "2026-11-23T13:55:58.562587+0530", "2026-11-23T08:25:58.5625871234+00:00",
        ]
        for form in forms {
            #expect(try Timestamp.parse(form) == expected, "\(form)")
        }
    }

    @Test("Missing fractions, seconds and times are allowed")
    func partialForms() throws {
        #expect(try Timestamp.parse("2030-01-03T00:00:00+00:00") == 1_893_628_800)
        #expect(try Timestamp.parse("2030-01-03T00:00") == 1_893_628_800)
        #expect(try Timestamp.parse("2030-01-03") == 1_893_628_800)
        #expect(try Timestamp.parse("2030-01-03T01") == 1_893_632_400)
        #expect(try Timestamp.parse("2030-01-03T00:00:00.5Z") == 1_893_628_800.5)
        #expect(try Timestamp.parse("1970-01-01T00:00:00+00:00") == 0)
        #expect(try Timestamp.parse("1969-12-31T23:59:59Z") == -1)
    }

    @Test("Invalid timestamps are rejected naming the text")
    func invalid() throws {
        for bad in ["", "2026", "2026-13-01", "2026-02-30", "2025-02-29T00:00:00", "2026-11-23T24:00:00",
                    "2026-11-23T08:60:00", "2026-11-23T08:25:60", "2026-11-23T08:25:58.", "2026-11-23T08:25:58+5",
                    "2026-11-23T08:25:58+05:", "2026-11-23X08:25:58", "2026-11-23T08:25:58 UTC", "tomorrow",
                    "2026-11-23T08:25:58Z+00:00"] {
            expectError(.invalidDate(bad)) { () throws(ProtocolError) in try Timestamp.parse(bad) }
        }
        #expect(try Timestamp.parse("2024-02-29T00:00:00") == 1_709_164_800)
    }

    @Test("Formatting prints what Python's isoformat prints for aware UTC datetimes")
    func format() {
        #expect(Timestamp.format(1_795_422_358.562587) == "2026-11-23T08:25:58.562587+00:00")
        #expect(Timestamp.format(1_893_628_800) == "2030-01-03T00:00:00+00:00")
        #expect(Timestamp.format(0.000001) == "1970-01-01T00:00:00.000001+00:00")
        #expect(Timestamp.format(-1) == "1969-12-31T23:59:59+00:00")
        #expect(Timestamp.format(951_782_400) == "2000-02-29T00:00:00+00:00")
        #expect(Timestamp.format(1_893_628_799.9999996) == "2030-01-03T00:00:00+00:00")
    }

    @Test("Microsecond timestamps survive format and parse in both directions")
    func roundTrip() throws {
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<2000 {
            let micros = Int64.random(in: 0...4_102_444_800_000_000, using: &generator)
            let epoch = Double(micros) / 1_000_000
            let text = Timestamp.format(epoch)
            #expect(try Timestamp.parse(text) == epoch, "\(text)")
            #expect(Timestamp.format(try Timestamp.parse(text)) == text)
        }
    }

    @Test("Civil date conversion agrees with day counting across leap years")
    func civilDates() {
        var days: Int64 = Timestamp.days(fromCivil: 1900, 1, 1)
        for year in Int64(1900)...2400 {
            for month in 1...12 {
                for day in 1...Timestamp.daysInMonth(year, month) {
                    #expect(Timestamp.days(fromCivil: year, month, day) == days)
                    days += 1
                }
            }
        }
        #expect(Timestamp.civil(fromDays: 0) == (1970, 1, 1))
        #expect(Timestamp.civil(fromDays: 19_782) == (2024, 2, 29))
    }

    @Test("The captured countdown fixture's eta and expires are an hour apart minus the countdown")
    func capturedTimes() throws {
        let message = try Fixture.message("countdown_expires")
        let eta = try #require(message.eta)
        let expires = try #require(message.expires)
        #expect(abs((expires - eta) - 3540) < 0.001)
        let header = try #require(message.headers["eta"]?.stringValue)
        #expect(Timestamp.format(eta) == header)
    }
}
