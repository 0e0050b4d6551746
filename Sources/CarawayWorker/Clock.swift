#if canImport(Glibc)
import Glibc
#endif

/// Wall-clock time, injected so logic never reads the system clock directly (house rule 14).
public protocol WallClock: Sendable {
    /// Seconds since the Unix epoch.
    var now: Double { get }
}

public struct SystemClock: WallClock {
    public init() {}
    public var now: Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
