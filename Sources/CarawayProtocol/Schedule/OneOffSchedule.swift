/// A schedule that fires exactly once, at a fixed instant.
///
/// Values are immutable and `Sendable`; any thread may use them.
public struct OneOffSchedule: Sendable, Equatable {
    /// When it fires, in seconds since the Unix epoch.
    public let at: Double

    /// Makes a schedule that fires at `at` (seconds since the Unix epoch).
    public init(at: Double) {
        self.at = at
    }

    /// The one tick if it is still ahead.
    /// - Parameter t: seconds since the Unix epoch.
    /// - Returns: ``at`` if it is strictly after `t`, else `nil`: the schedule is exhausted.
    public func next(after t: Double) -> Double? {
        at > t ? at : nil
    }
}
