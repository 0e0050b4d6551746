/// ISO-8601 timestamps as Celery writes them (`eta`, `expires`, `date_done`, kombu
/// datetime markers), converted to and from seconds since the Unix epoch.
///
/// Hand-written civil-date arithmetic (Howard Hinnant's `days_from_civil`) instead of
/// Foundation's formatters: those are slow, locale-sensitive and not needed for a
/// fixed format.
public enum Timestamp {
    /// Parses what Python's `datetime.fromisoformat` accepts in practice:
    /// `YYYY-MM-DD`, optionally followed by `T` (or a space) and `HH[:MM[:SS[.ffffff]]]`,
    /// optionally followed by `Z` or an offset `±HH:MM[:SS]` / `±HHMM`.
    ///
    /// Naive times are read as UTC. Python would read them in the worker's configured
    /// timezone; Caraway has no such setting and Celery always sends aware times.
    /// Fractions beyond microseconds are truncated, as Python does.
    /// - Parameter text: the timestamp, e.g. `2026-11-23T08:25:58.562587+00:00`.
    /// - Returns: seconds since 1970-01-01T00:00:00Z.
    /// - Throws: ``ProtocolError/invalidDate(_:)`` for anything else.
    public static func parse(_ text: String) throws(ProtocolError) -> Double {
        var copy = text
        let value = copy.withUTF8 { parseUTF8(UnsafeRawBufferPointer($0)) }
        guard let value else { throw .invalidDate(text) }
        return value
    }

    /// Formats `epochSeconds` as aware UTC the way Python's `datetime.isoformat()` does:
    /// `2026-11-23T08:25:58.562587+00:00`, with the fraction left out when the microseconds
    /// are zero (`2030-01-03T00:00:00+00:00`), exactly as Python omits it.
    /// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the instants a timestamp can show.
    public static let minimumEpoch: Double = -62_135_596_800
    public static let maximumEpoch: Double = 253_402_300_799

    /// Whether `epochSeconds` lies in years 0001–9999 (finite and showable).
    public static func isRepresentable(_ epochSeconds: Double) -> Bool {
        epochSeconds.isFinite && epochSeconds >= minimumEpoch && epochSeconds <= maximumEpoch
    }

    public static func format(_ epochSeconds: Double) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(32)
        append(epochSeconds, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends the ``format(_:)`` text to `output`.
    public static func append(_ epochSeconds: Double, to output: inout [UInt8]) {
        // Never trap on hostile input (Postgres 'infinity', 1e300 from a client): clamp to the
        // years 0001–9999, the range ISO-8601 and Python's datetime can show.
        let clamped = epochSeconds.isNaN ? 0 : min(max(epochSeconds, minimumEpoch), maximumEpoch)
        let totalMicros = Int64((clamped * 1_000_000).rounded())
        let microsPerDay: Int64 = 86_400_000_000
        let days = totalMicros >= 0 ? totalMicros / microsPerDay : (totalMicros - microsPerDay + 1) / microsPerDay
        let inDay = totalMicros - days * microsPerDay
        let (year, month, day) = civil(fromDays: days)
        let seconds = inDay / 1_000_000
        let micros = inDay % 1_000_000
        appendDigits(year, count: 4, to: &output)
        output.append(UInt8(ascii: "-"))
        appendDigits(Int64(month), count: 2, to: &output)
        output.append(UInt8(ascii: "-"))
        appendDigits(Int64(day), count: 2, to: &output)
        output.append(UInt8(ascii: "T"))
        appendDigits(seconds / 3600, count: 2, to: &output)
        output.append(UInt8(ascii: ":"))
        appendDigits(seconds / 60 % 60, count: 2, to: &output)
        output.append(UInt8(ascii: ":"))
        appendDigits(seconds % 60, count: 2, to: &output)
        if micros != 0 {
            output.append(UInt8(ascii: "."))
            appendDigits(micros, count: 6, to: &output)
        }
        output.append(contentsOf: "+00:00".utf8)
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date.
    static func days(fromCivil year: Int64, _ month: Int, _ day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date `days` after 1970-01-01.
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func isLeap(_ year: Int64) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    static func daysInMonth(_ year: Int64, _ month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func appendDigits(_ value: Int64, count: Int, to output: inout [UInt8]) {
        var digits = [UInt8](repeating: UInt8(ascii: "0"), count: count)
        var rest = value < 0 ? -value : value
        var i = count - 1
        while i >= 0 && rest > 0 {
            digits[i] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            i -= 1
        }
        if value < 0 { output.append(UInt8(ascii: "-")) }
        if rest > 0 { output.append(contentsOf: String(rest).utf8) }
        output.append(contentsOf: digits)
    }

    private static func parseUTF8(_ s: UnsafeRawBufferPointer) -> Double? {
        var reader = DigitReader(bytes: s)
        guard let year = reader.number(digits: 4), reader.skip("-"),
              let month = reader.number(digits: 2), reader.skip("-"),
              let day = reader.number(digits: 2),
              (1...12).contains(month), (1...daysInMonth(Int64(year), month)).contains(day) else { return nil }
        // Sum in integer microseconds and divide once, so the Double is the closest one to
        // the exact instant and formats back to the same digits.
        var micros = days(fromCivil: Int64(year), month, day) * 86_400_000_000
        if reader.atEnd { return Double(micros) / 1_000_000 }
        guard reader.skip("T") || reader.skip("t") || reader.skip(" ") else { return nil }
        guard let hour = reader.number(digits: 2), hour < 24 else { return nil }
        var minute = 0
        var second = 0
        var fractionMicros = 0
        if reader.skip(":") {
            guard let m = reader.number(digits: 2), m < 60 else { return nil }
            minute = m
            if reader.skip(":") {
                guard let sec = reader.number(digits: 2), sec < 60 else { return nil }
                second = sec
                if reader.skip(".") || reader.skip(",") {
                    guard let fraction = reader.fractionMicros() else { return nil }
                    fractionMicros = fraction
                }
            }
        }
        micros += Int64(hour * 3600 + minute * 60 + second) * 1_000_000 + Int64(fractionMicros)
        if reader.atEnd { return Double(micros) / 1_000_000 }
        if reader.skip("Z") || reader.skip("z") { return reader.atEnd ? Double(micros) / 1_000_000 : nil }
        let sign: Int64
        if reader.skip("+") { sign = 1 } else if reader.skip("-") { sign = -1 } else { return nil }
        guard let offsetHours = reader.number(digits: 2), offsetHours < 24 else { return nil }
        var offset = offsetHours * 3600
        let colon = reader.skip(":")
        if !reader.atEnd {
            guard let offsetMinutes = reader.number(digits: 2), offsetMinutes < 60 else { return nil }
            offset += offsetMinutes * 60
            if colon, reader.skip(":") {
                guard let offsetSeconds = reader.number(digits: 2), offsetSeconds < 60 else { return nil }
                offset += offsetSeconds
            }
        } else if colon {
            return nil
        }
        guard reader.atEnd else { return nil }
        return Double(micros - sign * Int64(offset) * 1_000_000) / 1_000_000
    }
}

/// Cursor over ASCII digits for the timestamp parser.
private struct DigitReader {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    var atEnd: Bool { position >= bytes.count }

    mutating func skip(_ char: Unicode.Scalar) -> Bool {
        guard !atEnd, bytes[position] == UInt8(ascii: char) else { return false }
        position += 1
        return true
    }

    /// Exactly `digits` decimal digits.
    mutating func number(digits: Int) -> Int? {
        guard position + digits <= bytes.count else { return nil }
        var value = 0
        for k in 0..<digits {
            let byte = bytes[position + k]
            guard byte >= 0x30 && byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        position += digits
        return value
    }

    /// One or more digits of a seconds fraction, as microseconds (extra digits truncated).
    mutating func fractionMicros() -> Int? {
        var micros = 0
        var count = 0
        while !atEnd, bytes[position] >= 0x30 && bytes[position] <= 0x39 {
            if count < 6 { micros = micros * 10 + Int(bytes[position] - 0x30) }
            count += 1
            position += 1
        }
        guard count > 0 else { return nil }
        for _ in count..<max(count, 6) { micros *= 10 }
        return micros
    }
}
