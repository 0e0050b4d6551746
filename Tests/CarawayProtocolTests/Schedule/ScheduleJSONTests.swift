import Testing

@testable import CarawayProtocol

@Suite("Schedule JSON")
struct ScheduleJSONTests {
    private func decode(_ text: String) throws -> Schedule {
        try Schedule(json: JSON.parse(text))
    }

    private func decodeError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> ScheduleError? {
        do {
            let json = try JSON.parse(text)
            let schedule = try Schedule(json: json)
            Issue.record("expected an error, got \(schedule)", sourceLocation: sourceLocation)
        } catch let error as ScheduleError {
            return error
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    @Test("Each kind writes the documented JSON and reads it back equal")
    func roundTrips() throws {
        let cases = [
            #"{"kind":"interval","every":30}"#,
            #"{"kind":"interval","every":0.5}"#,
            #"{"kind":"crontab","expression":"*/5 * * * *","timezone":"Europe/Berlin"}"#,
            #"{"kind":"crontab","expression":"@daily","timezone":"UTC"}"#,
            #"{"kind":"one_off","at":"2026-12-01T09:00:00+00:00"}"#,
            #"{"kind":"one_off","at":"2026-12-01T09:00:00.250000+00:00"}"#,
        ]
        for text in cases {
            let schedule = try decode(text)
            #expect(schedule.json.serializedString() == text)
            #expect(try Schedule(json: schedule.json) == schedule)
        }
    }

    @Test("Decoded values are the schedules they describe")
    func decodedValues() throws {
        #expect(try decode(#"{"kind":"interval","every":30}"#) == .interval(try IntervalSchedule(every: 30)))
        #expect(try decode(#"{"kind":"crontab","expression":"0 9 * * *","timezone":"America/New_York"}"#)
            == .crontab(try Crontab("0 9 * * *", timeZone: "America/New_York")))
        #expect(try decode(#"{"kind":"one_off","at":"2026-12-01T10:00:00+01:00"}"#)
            == .oneOff(OneOffSchedule(at: at("2026-12-01T09:00:00Z"))))
    }

    @Test("A crontab without a time zone, or with null, runs in UTC")
    func defaultTimeZone() throws {
        #expect(try decode(#"{"kind":"crontab","expression":"0 9 * * *"}"#) == .crontab(try Crontab("0 9 * * *")))
        #expect(try decode(#"{"kind":"crontab","expression":"0 9 * * *","timezone":null}"#) == .crontab(try Crontab("0 9 * * *")))
    }

    @Test("django-celery-beat's every and period columns are accepted and stored as seconds")
    func djangoPeriod() throws {
        let schedule = try decode(#"{"kind":"interval","every":5,"period":"minutes"}"#)
        #expect(schedule == .interval(try IntervalSchedule(every: 300)))
        #expect(schedule.json.serializedString() == #"{"kind":"interval","every":300}"#)
        #expect(try decode(#"{"kind":"interval","every":45,"period":null}"#) == .interval(try IntervalSchedule(every: 45)))
    }

    @Test("Errors name the field at fault")
    func fieldErrors() {
        let cases: [(String, String, String)] = [
            (#"[1]"#, "schedule", "must be an object with a `kind`, got an array"),
            (#"{}"#, "kind", "is missing; expected interval, crontab or one_off"),
            (#"{"kind":3}"#, "kind", "must be a string (interval, crontab or one_off), got a number"),
            (#"{"kind":"weekly"}"#, "kind", "must be interval, crontab or one_off, got 'weekly'"),
            (#"{"kind":"interval"}"#, "every", "is missing; expected a positive number of seconds"),
            (#"{"kind":"interval","every":"30"}"#, "every", #"must be a positive number of seconds, got "30""#),
            (#"{"kind":"interval","every":0}"#, "every", "must be a positive number of seconds, got 0"),
            (#"{"kind":"interval","every":-5.5}"#, "every", "must be a positive number of seconds, got -5.5"),
            (#"{"kind":"interval","every":5,"period":"weeks"}"#, "period", "must be seconds, minutes, hours or days, got 'weeks'"),
            (#"{"kind":"interval","every":5,"period":1}"#, "period", "must be seconds, minutes, hours or days, got a number"),
            (#"{"kind":"interval","every":1.5,"period":"hours"}"#, "every", "must be a whole number of hours, at least 1, got 1.5"),
            (#"{"kind":"interval","every":0,"period":"hours"}"#, "every", "must be a whole number of hours, at least 1, got 0"),
            (#"{"kind":"crontab"}"#, "expression", "is missing; expected a string such as */5 * * * *"),
            (#"{"kind":"crontab","expression":5}"#, "expression", "must be a string such as */5 * * * *, got a number"),
            (#"{"kind":"crontab","expression":"61 * * * *"}"#, "expression", "minute field: value 61 is out of range 0-59"),
            (#"{"kind":"crontab","expression":"* * * * *","timezone":"Mars/Base"}"#, "timezone",
             "unknown time zone 'Mars/Base'; expected an IANA name such as UTC or Europe/Berlin"),
            (#"{"kind":"crontab","expression":"* * * * *","timezone":1}"#, "timezone",
             "must be an IANA time zone name such as Europe/Berlin, got a number"),
            (#"{"kind":"one_off"}"#, "at", "is missing; expected a string such as 2026-12-01T09:00:00+00:00"),
            (#"{"kind":"one_off","at":1764579600}"#, "at", "must be a string such as 2026-12-01T09:00:00+00:00, got a number"),
            (#"{"kind":"one_off","at":"tomorrow"}"#, "at",
             "must be an ISO-8601 time such as 2026-12-01T09:00:00+00:00, got 'tomorrow'"),
        ]
        for (text, field, reason) in cases {
            #expect(decodeError(text) == .invalidField(field: field, reason: reason), "\(text)")
        }
    }

    @Test("Unknown keys are refused so a misspelt time zone cannot fall back to UTC")
    func unknownKeys() {
        #expect(decodeError(#"{"kind":"crontab","expression":"* * * * *","timezome":"Europe/Berlin"}"#)
            == .invalidField(field: "timezome", reason: "is not a field of a crontab schedule; expected kind, expression, timezone"))
        #expect(decodeError(#"{"kind":"interval","every":5,"at":"2026-01-01"}"#)
            == .invalidField(field: "at", reason: "is not a field of an interval schedule; expected kind, every, period"))
        #expect(decodeError(#"{"kind":"one_off","at":"2026-01-01","every":5}"#)
            == .invalidField(field: "every", reason: "is not a field of a one_off schedule; expected kind, at"))
    }

    @Test("Field errors read as one sentence naming the field")
    func errorDescription() {
        let error = decodeError(#"{"kind":"crontab","expression":"* * * * sunday"}"#)
        #expect(error?.description
            == "schedule field `expression`: day-of-week field: unknown name 'sunday'; use a number or a three-letter name (sun-sat)")
    }
}
