/// Celery's logical clock: every event and control reply carries it; receivers move past it.
public final class LamportClock {
    public private(set) var value = 0

    public init() {}

    /// Advances for a local event and returns the new value.
    @discardableResult
    public func tick() -> Int {
        value = Self.successor(value)
        return value
    }

    /// Moves past a clock seen on a received message (max(local, seen) + 1).
    public func witness(_ seen: Int) {
        value = Self.successor(max(value, seen))
    }

    /// Saturates: a clock arrives from the network, and Int.max must not trap the node.
    static func successor(_ n: Int) -> Int { n == Int.max ? n : n + 1 }
}
