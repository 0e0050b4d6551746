#if canImport(FoundationEssentials)
import FoundationEssentials
import FoundationInternationalization
#else
import Foundation
#endif

/// An IANA time zone's UTC offsets, and the mapping from a local wall-clock time back to an
/// instant, with the two daylight-saving rules Caraway's crontabs follow.
///
/// This is the only place `CarawayProtocol` touches Foundation: `TimeZone` is used for its
/// tzdata and nothing else. Instants and wall times are whole seconds: an instant counts from
/// 1970-01-01T00:00:00Z, and a wall time is the same count read as if the local clock were UTC
/// (`wall = instant + offset(instant)`).
///
/// - **Gap (spring forward).** A wall time the clock skips does not exist. It maps to the
///   transition instant, the first instant after the gap, so a crontab due in the skipped hour
///   fires once, late, when the clock jumps (what cronie does), instead of silently missing a
///   day. Several skipped wall times (`*/15` in the lost hour) all map to that one instant, and
///   `next(after:)` is strictly increasing, so they coalesce into a single fire.
/// - **Overlap (fall back).** A wall time the clock shows twice maps to its first occurrence;
///   the second showing is not a new tick.
struct ZoneRules: Sendable, Equatable {
    /// The zone as Foundation resolved it.
    let timeZone: TimeZone
    /// Set for zones that never change offset (UTC, `Etc/GMT+5`), which then need no lookups.
    let fixedOffset: Int64?

    /// Every real UTC offset lies within ±16 hours, so an instant showing wall time `w`
    /// lies within this distance of `w`.
    private static let reach: Int64 = 16 * 3600

    /// Loads the rules of the IANA zone `identifier`; `nil` if tzdata has no such zone.
    init?(identifier: String) {
        guard !identifier.isEmpty, let timeZone = TimeZone(identifier: identifier) else { return nil }
        self.timeZone = timeZone
        let resolved = timeZone.identifier
        let isFixed = resolved == "GMT" || resolved == "UTC" || resolved.hasPrefix("Etc/")
            || resolved.hasPrefix("GMT+") || resolved.hasPrefix("GMT-")
        fixedOffset = isFixed ? Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: 0))) : nil
    }

    /// The UTC offset in seconds (east positive) in effect at `instant`.
    func offset(at instant: Int64) -> Int64 {
        if let fixedOffset { return fixedOffset }
        return Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant))))
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
}
