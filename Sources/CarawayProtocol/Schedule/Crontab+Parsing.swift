/// Reading the expression text into one bit set per field.
extension Crontab {
    /// The five parsed fields of an expression.
    struct Fields: Equatable {
        var minutes: UInt64
        var hours: UInt64
        var daysOfMonth: UInt64
        var months: UInt64
        var daysOfWeek: UInt64
        var dayOfMonthIsWildcard: Bool
        var dayOfWeekIsWildcard: Bool
    }

    /// The macros and the expressions they stand for (Vixie cron's list, minus `@reboot`,
    /// which is an event rather than a schedule).
    static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *",
        "@annually": "0 0 1 1 *",
        "@monthly": "0 0 1 * *",
        "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *",
        "@midnight": "0 0 * * *",
        "@hourly": "0 * * * *",
    ]

    static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    /// Splits `expression` into fields (expanding a macro first) and parses each one.
    static func parseFields(_ expression: String) throws(ScheduleError) -> Fields {
        let words = expression.split(whereSeparator: \.isWhitespace)
        if let first = words.first, first.hasPrefix("@") {
            guard words.count == 1, let expansion = macros[first.lowercased()] else {
                throw .unknownMacro(words.joined(separator: " "))
            }
            return try parseFields(expansion)
        }
        guard words.count == 5 else { throw .wrongFieldCount(expected: 5, got: words.count) }
        return Fields(
            minutes: try parseField(words[0], .minute),
            hours: try parseField(words[1], .hour),
            daysOfMonth: try parseField(words[2], .dayOfMonth),
            months: try parseField(words[3], .month),
            daysOfWeek: try parseField(words[4], .dayOfWeek),
            dayOfMonthIsWildcard: words[2].hasPrefix("*"),
            dayOfWeekIsWildcard: words[4].hasPrefix("*"))
    }

    /// One field: a comma-separated list of items, each setting some bits.
    static func parseField(_ text: Substring, _ field: CronField) throws(ScheduleError) -> UInt64 {
        var bits: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            bits |= try parseItem(item, field)
        }
        return bits
    }

    /// One list item: `*`, `N`, `N-M`, optionally followed by `/step`, or `N/step`.
    static func parseItem(_ item: Substring, _ field: CronField) throws(ScheduleError) -> UInt64 {
        let token = String(item)
        let parts = item.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { throw .malformedToken(field: field, token: token) }
        var step = 1
        if parts.count == 2 {
            guard let parsed = decimal(parts[1]) else { throw .malformedToken(field: field, token: token) }
            guard parsed > 0 else { throw .nonPositiveStep(field: field, token: token) }
            step = parsed
        }
        let base = parts[0]
        var low: Int
        var high: Int
        if base == "*" {
            low = field.span.lowerBound
            high = field.span.upperBound
        } else if let dash = base.firstIndex(of: "-") {
            low = try value(base[..<dash], field, token: token)
            high = try value(base[base.index(after: dash)...], field, token: token)
            // `fri-sun` / `5-0`: Sunday closing a range is the end of the week, not its start.
            if field == .dayOfWeek && high == 0 && low > 0 { high = 7 }
            guard low <= high else { throw .reversedRange(field: field, token: token) }
        } else {
            low = try value(base, field, token: token)
            // `5/10` runs from 5 to the end of the field, as in cronie and croniter.
            high = parts.count == 2 ? max(low, field.span.upperBound) : low
        }
        var bits: UInt64 = 0
        // `step` may exceed the range (`*/90` is just the first value); stride stops in time.
        for number in stride(from: low, through: high, by: step) {
            bits |= 1 << UInt64(field == .dayOfWeek ? number % 7 : number)
        }
        return bits
    }

    /// A number or, for month and day-of-week, a three-letter name; range-checked.
    static func value(_ text: Substring, _ field: CronField, token: String) throws(ScheduleError) -> Int {
        if let number = decimal(text) {
            guard field.range.contains(number) else {
                throw .valueOutOfRange(field: field, value: number, range: field.range)
            }
            return number
        }
        let isWord = !text.isEmpty && text.utf8.allSatisfy { ($0 | 0x20) >= UInt8(ascii: "a") && ($0 | 0x20) <= UInt8(ascii: "z") }
        guard isWord, field == .month || field == .dayOfWeek else {
            throw .malformedToken(field: field, token: token)
        }
        let lowered = text.lowercased()
        if field == .month, let index = monthNames.firstIndex(of: lowered) { return index + 1 }
        if field == .dayOfWeek, let index = dayNames.firstIndex(of: lowered) { return index }
        throw .unknownName(field: field, name: String(text))
    }

    /// Plain ASCII digits (no sign, no spaces) as an `Int`; `nil` for anything else or overflow.
    static func decimal(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 18 else { return nil }
        var result = 0
        for byte in text.utf8 {
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            result = result * 10 + Int(byte - 0x30)
        }
        return result
    }
}
