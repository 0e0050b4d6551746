#if canImport(Glibc)
import Glibc
#endif

/// An IANA time zone's UTC offsets, and the mapping from a local wall-clock time back to an
/// instant, with the two daylight-saving rules Caraway's crontabs follow.
///
/// The rules come from the system's tzdata (`/usr/share/zoneinfo`, or `$TZDIR`), read once when a
/// crontab is parsed: the TZif transitions, then the POSIX TZ rule in the file's footer for
/// instants past the last transition. Reading tzdata ourselves keeps Foundation (and ICU, ~40 MB
/// mapped into every pool child) out of the binary. Instants and wall times are whole seconds:
/// an instant counts from 1970-01-01T00:00:00Z, and a wall time is the same count read as if the
/// local clock were UTC (`wall = instant + offset(instant)`).
///
/// - **Gap (spring forward).** A wall time the clock skips does not exist. It maps to the
///   transition instant, the first instant after the gap, so a crontab due in the skipped hour
///   fires once, late, when the clock jumps (what cronie does), instead of silently missing a
///   day. Several skipped wall times (`*/15` in the lost hour) all map to that one instant, and
///   `next(after:)` is strictly increasing, so they coalesce into a single fire.
/// - **Overlap (fall back).** A wall time the clock shows twice maps to its first occurrence;
///   the second showing is not a new tick.
struct ZoneRules: Sendable, Equatable {
    let identifier: String
    /// Transition instants, ascending, and the offset in effect from each one on.
    let transitions: [Int64]
    let offsets: [Int64]
    /// The offset before the first transition.
    let initialOffset: Int64
    /// The footer rule for instants after the last transition (nil: the last offset holds).
    let rule: PosixZoneRule?
    /// Set for zones that never change offset (UTC, `Etc/GMT+5`), which then need no lookups.
    let fixedOffset: Int64?

    /// Every real UTC offset lies within ±16 hours, so an instant showing wall time `w`
    /// lies within this distance of `w`.
    private static let reach: Int64 = 16 * 3600

    /// Loads the rules of the IANA zone `identifier`; `nil` if tzdata has no such zone.
    init?(identifier: String) {
        guard Self.isPlausibleName(identifier) else { return nil }
        if ["UTC", "GMT", "Etc/UTC", "Etc/GMT", "Z", "Zulu", "UCT", "Etc/UCT", "Universal", "Etc/Universal"].contains(identifier) {
            self.init(identifier: identifier, transitions: [], offsets: [], initialOffset: 0, rule: nil)
            return
        }
        guard let bytes = Self.read(identifier), let parsed = TZif.parse(bytes) else { return nil }
        self.init(identifier: identifier, transitions: parsed.transitions, offsets: parsed.offsets,
                  initialOffset: parsed.initialOffset, rule: parsed.footer.flatMap(PosixZoneRule.init))
    }

    init(identifier: String, transitions: [Int64], offsets: [Int64], initialOffset: Int64, rule: PosixZoneRule?) {
        self.identifier = identifier
        self.transitions = transitions
        self.offsets = offsets
        self.initialOffset = initialOffset
        self.rule = rule
        let changes = Set(offsets + [initialOffset]).count > 1 || (rule?.dst != nil)
        fixedOffset = changes ? nil : (rule?.standardOffset ?? offsets.last ?? initialOffset)
    }

    /// The UTC offset in seconds (east positive) in effect at `instant`.
    func offset(at instant: Int64) -> Int64 {
        if let fixedOffset { return fixedOffset }
        if let last = transitions.last, instant >= last, let rule { return rule.offset(at: instant) }
        if transitions.isEmpty { return rule?.offset(at: instant) ?? initialOffset }
        // Last transition at or before `instant`.
        var low = 0, high = transitions.count
        while low < high {
            let middle = (low + high) / 2
            if transitions[middle] <= instant { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? initialOffset : offsets[low - 1]
    }

    /// The wall time the local clock shows at `instant`.
    func wall(at instant: Int64) -> Int64 {
        instant + offset(at: instant)
    }

    /// The instant at which wall time `wall` fires: its only occurrence, its first occurrence
    /// when a fall-back repeats it, or the end of the gap when a spring-forward skips it.
    func firstInstant(atWall wall: Int64) -> Int64 {
        if let fixedOffset { return wall - fixedOffset }
        let before = offset(at: wall - Self.reach)
        let after = offset(at: wall + Self.reach)
        // An instant showing `wall` has one of the offsets in effect around it. With no
        // transition nearby both probes agree and one more lookup confirms it. Otherwise the
        // earlier instant (the larger offset) is the first occurrence.
        let first = wall - max(before, after)
        let second = wall - min(before, after)
        if offset(at: first) == max(before, after) { return first }
        if offset(at: second) == min(before, after) { return second }
        // No instant shows `wall`: it lies in a gap. The transition is the first instant whose
        // wall time is past `wall`; before it every wall time is below the gap.
        var low = wall - Self.reach
        var high = wall + Self.reach
        while low < high {
            let middle = low + (high - low) / 2
            if self.wall(at: middle) > wall { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// Zone names are relative paths of letters, digits, `_`, `-`, `+` and `/` — never `..`.
    static func isPlausibleName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count < 128, !name.hasPrefix("/"), !name.contains("..") else { return false }
        return name.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2D || b == 0x2B || b == 0x2F
        }
    }

    private static func read(_ name: String) -> [UInt8]? {
        let directory = getenv("TZDIR").map { String(cString: $0) } ?? "/usr/share/zoneinfo"
        guard let file = fopen(directory + "/" + name, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            bytes += chunk[..<n]
            if bytes.count > 1 << 20 { return nil }
        }
        return bytes
    }
}

/// The TZif file format (RFC 8536): the 64-bit block of version 2+ files, and the footer.
enum TZif {
    static func parse(_ b: [UInt8]) -> (transitions: [Int64], offsets: [Int64], initialOffset: Int64, footer: String?)? {
        func u32(_ i: Int) -> Int { Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3]) }
        func i32(_ i: Int) -> Int64 { Int64(Int32(bitPattern: UInt32(u32(i)))) }
        func i64(_ i: Int) -> Int64 { Int64(bitPattern: UInt64(u32(i)) << 32 | UInt64(u32(i + 4))) }
        guard b.count >= 44, b[0] == 0x54, b[1] == 0x5A, b[2] == 0x69, b[3] == 0x66 else { return nil }
        func counts(_ at: Int) -> (isut: Int, isstd: Int, leap: Int, time: Int, type: Int, char: Int) {
            (u32(at + 20), u32(at + 24), u32(at + 28), u32(at + 32), u32(at + 36), u32(at + 40))
        }
        var header = 0
        var c = counts(header)
        var timeSize = 4
        if b[4] >= 0x32 {
            // Skip the 32-bit block: the 64-bit one follows with its own header.
            header = 44 + c.time * 4 + c.time + c.type * 6 + c.char + c.leap * 8 + c.isstd + c.isut
            guard b.count >= header + 44 else { return nil }
            c = counts(header)
            timeSize = 8
        }
        var at = header + 44
        let size = c.time * timeSize + c.time + c.type * 6 + c.char + c.leap * (timeSize + 4) + c.isstd + c.isut
        guard c.type > 0, b.count >= at + size else { return nil }
        var transitions: [Int64] = []
        for i in 0..<c.time { transitions.append(timeSize == 8 ? i64(at + i * 8) : i32(at + i * 4)) }
        at += c.time * timeSize
        let indices = (0..<c.time).map { Int(b[at + $0]) }
        at += c.time
        var typeOffsets: [Int64] = []
        for i in 0..<c.type { typeOffsets.append(i32(at + i * 6)) }
        guard indices.allSatisfy({ $0 < c.type }) else { return nil }
        at += size - c.time * timeSize - c.time
        var footer: String?
        if timeSize == 8, at < b.count, b[at] == 0x0A, let end = b[(at + 1)...].firstIndex(of: 0x0A), end > at + 1 {
            footer = String(decoding: b[(at + 1)..<end], as: UTF8.self)
        }
        return (transitions, indices.map { typeOffsets[$0] }, typeOffsets[0], footer)
    }
}
