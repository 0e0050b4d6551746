/// A POSIX TZ rule such as `CET-1CEST,M3.5.0,M10.5.0/3` (the footer of a TZif file): the offsets
/// and daylight-saving dates that hold after a zone's last listed transition.
struct PosixZoneRule: Sendable, Equatable {
    /// Offsets east of UTC in seconds (POSIX writes them west-positive; they are negated here).
    let standardOffset: Int64
    let dst: Daylight?

    struct Daylight: Sendable, Equatable {
        let offset: Int64
        let start: DateRule
        let startTime: Int64
        let end: DateRule
        let endTime: Int64
    }

    enum DateRule: Sendable, Equatable {
        /// `Jn`: day 1–365, February 29 never counted.
        case julianNoLeap(Int)
        /// `n`: day 0–365, February 29 counted.
        case zeroBased(Int)
        /// `Mm.w.d`: day d (0 = Sunday) of week w (5 = last) of month m.
        case monthWeekDay(month: Int, week: Int, day: Int)
    }

    init?(_ text: String) {
        var s = Substring(text)
        guard Self.name(&s) != nil, let std = Self.offset(&s) else { return nil }
        standardOffset = -std
        if s.isEmpty { dst = nil; return }
        guard Self.name(&s) != nil else { return nil }
        var dstOffset = standardOffset + 3600
        if let first = s.first, first != "," { guard let o = Self.offset(&s) else { return nil }; dstOffset = -o }
        guard s.popFirst() == ",", let start = Self.dateRule(&s) else { return nil }
        var startTime: Int64 = 7200
        if s.first == "/" { s.removeFirst(); guard let t = Self.offset(&s) else { return nil }; startTime = t }
        guard s.popFirst() == ",", let end = Self.dateRule(&s) else { return nil }
        var endTime: Int64 = 7200
        if s.first == "/" { s.removeFirst(); guard let t = Self.offset(&s) else { return nil }; endTime = t }
        guard s.isEmpty else { return nil }
        dst = Daylight(offset: dstOffset, start: start, startTime: startTime, end: end, endTime: endTime)
    }

    func offset(at instant: Int64) -> Int64 {
        guard let dst else { return standardOffset }
        let year = Civil.year(ofDay: Civil.floorDiv(instant + standardOffset, 86_400))
        // Check this year and its neighbours' windows (a southern-hemisphere DST spans New Year).
        for y in [year - 1, year, year + 1] {
            let start = Self.day(dst.start, year: y) * 86_400 + dst.startTime - standardOffset
            let end = Self.day(dst.end, year: y) * 86_400 + dst.endTime - dst.offset
            if start < end {
                if instant >= start && instant < end { return dst.offset }
            } else {
                let nextEnd = Self.day(dst.end, year: y + 1) * 86_400 + dst.endTime - dst.offset
                if instant >= start && instant < nextEnd { return dst.offset }
            }
        }
        return standardOffset
    }

    /// Days since 1970-01-01 of the rule's date in `year`.
    static func day(_ rule: DateRule, year: Int64) -> Int64 {
        let jan1 = Civil.days(year: year, month: 1, day: 1)
        switch rule {
        case .julianNoLeap(let n):
            return jan1 + Int64(n - 1) + (Civil.isLeap(year) && n >= 60 ? 1 : 0)
        case .zeroBased(let n):
            return jan1 + Int64(n)
        case .monthWeekDay(let month, let week, let weekday):
            let first = Civil.days(year: year, month: Int64(month), day: 1)
            let firstWeekday = Civil.floorMod(first + 4, 7)   // 1970-01-01 was a Thursday
            var day = Civil.floorMod(Int64(weekday) - firstWeekday, 7) + Int64(week - 1) * 7
            let length = Civil.daysInMonth(year: year, month: Int64(month))
            while day >= length { day -= 7 }
            return first + day
        }
    }

    private static func name(_ s: inout Substring) -> Substring? {
        if s.first == "<" {
            guard let close = s.firstIndex(of: ">") else { return nil }
            let n = s[s.index(after: s.startIndex)..<close]
            s = s[s.index(after: close)...]
            return n
        }
        let n = s.prefix { $0.isLetter }
        guard n.count >= 3 else { return nil }
        s = s.dropFirst(n.count)
        return n
    }

    /// `[+|-]hh[:mm[:ss]]` in seconds (sign as written).
    private static func offset(_ s: inout Substring) -> Int64? {
        var sign: Int64 = 1
        if s.first == "+" { s.removeFirst() } else if s.first == "-" { sign = -1; s.removeFirst() }
        var parts: [Int64] = []
        while true {
            let digits = s.prefix { $0.isNumber }
            guard !digits.isEmpty, let value = Int64(digits) else { return nil }
            parts.append(value)
            s = s.dropFirst(digits.count)
            guard s.first == ":", parts.count < 3 else { break }
            s.removeFirst()
        }
        let seconds = parts[0] * 3600 + (parts.count > 1 ? parts[1] * 60 : 0) + (parts.count > 2 ? parts[2] : 0)
        return sign * seconds
    }

    private static func dateRule(_ s: inout Substring) -> DateRule? {
        func number() -> Int? {
            let digits = s.prefix { $0.isNumber }
            s = s.dropFirst(digits.count)
            return Int(digits)
        }
        switch s.first {
        case "J":
            s.removeFirst()
            guard let n = number(), (1...365).contains(n) else { return nil }
            return .julianNoLeap(n)
        case "M":
            s.removeFirst()
            guard let m = number(), s.popFirst() == ".", let w = number(), s.popFirst() == ".", let d = number(),
                  (1...12).contains(m), (1...5).contains(w), (0...6).contains(d) else { return nil }
            return .monthWeekDay(month: m, week: w, day: d)
        default:
            guard let n = number(), (0...365).contains(n) else { return nil }
            return .zeroBased(n)
        }
    }
}

/// Proleptic Gregorian calendar arithmetic on day counts since 1970-01-01 (H. Hinnant's algorithms).
enum Civil {
    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
    static func floorMod(_ a: Int64, _ b: Int64) -> Int64 { a - floorDiv(a, b) * b }
    static func isLeap(_ y: Int64) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][Int(month) - 1]
    }

    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = floorDiv(y, 400)
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func year(ofDay z0: Int64) -> Int64 {
        let z = z0 + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let month = mp < 10 ? mp + 3 : mp - 9
        return yoe + era * 400 + (month <= 2 ? 1 : 0)
    }
}
