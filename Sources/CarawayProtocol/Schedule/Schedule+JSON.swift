/// The JSON stored in the `schedule` column and sent by the HTTP API:
///
/// ```json
/// {"kind": "interval", "every": 30}
/// {"kind": "interval", "every": 5, "period": "minutes"}
/// {"kind": "crontab", "expression": "*/5 * * * *", "timezone": "Europe/Berlin"}
/// {"kind": "one_off", "at": "2026-12-01T09:00:00+00:00"}
/// ```
///
/// Unknown keys are refused rather than ignored: a misspelt `timezone` silently falling back
/// to UTC would move every run by hours.
extension Schedule {
    /// Reads a stored schedule.
    ///
    /// `every` is seconds unless `period` (django-celery-beat's column: seconds, minutes, hours
    /// or days) is given, in which case it is a whole count of that period. `timezone` defaults
    /// to UTC. `at` is an ISO-8601 time as ``Timestamp/parse(_:)`` reads it.
    /// - Parameter json: the object.
    /// - Throws: ``ScheduleError/invalidField(field:reason:)`` naming the key at fault; a bad
    ///   crontab or time zone is reported under `expression` or `timezone` with the crontab
    ///   parser's sentence as the reason.
    public init(json: JSON) throws(ScheduleError) {
        guard case .object(let object) = json else {
            throw .invalidField(field: "schedule", reason: "must be an object with a `kind`, got \(json.typeName)")
        }
        guard let kindValue = object["kind"] else {
            throw .invalidField(field: "kind", reason: "is missing; expected interval, crontab or one_off")
        }
        guard case .string(let kind) = kindValue else {
            throw .invalidField(field: "kind", reason: "must be a string (interval, crontab or one_off), got \(kindValue.typeName)")
        }
        switch kind {
        case "interval":
            try Self.refuseUnknownKeys(object, kind: kind, allowed: ["kind", "every", "period"])
            self = .interval(try Self.interval(object))
        case "crontab":
            try Self.refuseUnknownKeys(object, kind: kind, allowed: ["kind", "expression", "timezone"])
            self = .crontab(try Self.crontab(object))
        case "one_off":
            try Self.refuseUnknownKeys(object, kind: kind, allowed: ["kind", "at"])
            let text = try Self.requiredString(object, "at", example: "2026-12-01T09:00:00+00:00")
            do {
                self = .oneOff(OneOffSchedule(at: try Timestamp.parse(text)))
            } catch {
                throw .invalidField(field: "at", reason: "must be an ISO-8601 time such as 2026-12-01T09:00:00+00:00, got '\(text)'")
            }
        default:
            throw .invalidField(field: "kind", reason: "must be interval, crontab or one_off, got '\(kind)'")
        }
    }

    /// The schedule as stored: `every` as an integer when it is whole, the crontab's time zone
    /// always spelt out, `at` in Python's `isoformat()` form.
    public var json: JSON {
        switch self {
        case .interval(let interval):
            let every = interval.every
            let whole = every.rounded() == every && every < 9_007_199_254_740_992
            return ["kind": "interval", "every": whole ? JSON(Int(every)) : JSON(every)]
        case .crontab(let crontab):
            return ["kind": "crontab", "expression": .string(crontab.expression), "timezone": .string(crontab.timeZone)]
        case .oneOff(let oneOff):
            return ["kind": "one_off", "at": .string(Timestamp.format(oneOff.at))]
        }
    }

    private static func interval(_ object: JSONObject) throws(ScheduleError) -> IntervalSchedule {
        guard let every = object["every"] else {
            throw .invalidField(field: "every", reason: "is missing; expected a positive number of seconds")
        }
        guard let periodValue = object["period"], !periodValue.isNull else {
            guard let seconds = every.doubleValue, seconds.isFinite, seconds > 0 else {
                throw .invalidField(field: "every", reason: "must be a positive number of seconds, got \(every)")
            }
            return try IntervalSchedule(every: seconds)
        }
        guard case .string(let period) = periodValue else {
            throw .invalidField(field: "period", reason: "must be seconds, minutes, hours or days, got \(periodValue.typeName)")
        }
        guard IntervalSchedule.unitSeconds(period) != nil else {
            throw .invalidField(field: "period", reason: "must be seconds, minutes, hours or days, got '\(period)'")
        }
        guard let count = every.intValue, count >= 1 else {
            throw .invalidField(field: "every", reason: "must be a whole number of \(period), at least 1, got \(every)")
        }
        return try IntervalSchedule(every: count, period: period)
    }

    private static func crontab(_ object: JSONObject) throws(ScheduleError) -> Crontab {
        let expression = try requiredString(object, "expression", example: "*/5 * * * *")
        var timeZone = "UTC"
        switch object["timezone"] {
        case nil, .null?: break
        case .string(let name)?: timeZone = name
        case let other?:
            throw .invalidField(field: "timezone", reason: "must be an IANA time zone name such as Europe/Berlin, got \(other.typeName)")
        }
        do {
            return try Crontab(expression, timeZone: timeZone)
        } catch {
            if case .unknownTimeZone = error { throw .invalidField(field: "timezone", reason: error.description) }
            throw .invalidField(field: "expression", reason: error.description)
        }
    }

    private static func requiredString(_ object: JSONObject, _ key: String, example: String) throws(ScheduleError) -> String {
        switch object[key] {
        case .string(let text)?: return text
        case nil: throw .invalidField(field: key, reason: "is missing; expected a string such as \(example)")
        case let other?: throw .invalidField(field: key, reason: "must be a string such as \(example), got \(other.typeName)")
        }
    }

    private static func refuseUnknownKeys(_ object: JSONObject, kind: String, allowed: [String]) throws(ScheduleError) {
        for key in object.keys where !allowed.contains(key) {
            throw .invalidField(field: key, reason: "is not a field of a\(kind == "interval" ? "n" : "") \(kind) schedule;"
                                + " expected \(allowed.joined(separator: ", "))")
        }
    }
}
