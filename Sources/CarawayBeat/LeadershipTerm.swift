/// One won election: the epoch, the lock value, and how long the holder may trust it.
///
/// The trust window runs from when the winning (or renewing) command was *sent*, not when its
/// reply arrived: a slow reply must not stretch leadership past the lock's real expiry in Redis.
/// A margin keeps the window strictly inside the TTL (clock rates differ slightly).
public struct LeadershipTerm: Sendable, Equatable {
    public let epoch: Int64
    public let lockValue: String
    /// Monotonic ms until which this node may act as leader.
    public private(set) var trustedUntil: UInt64

    public init(epoch: Int64, lockValue: String, sentAt: UInt64, ttlMilliseconds: UInt64, marginMilliseconds: UInt64) {
        self.epoch = epoch
        self.lockValue = lockValue
        trustedUntil = sentAt + ttlMilliseconds - min(marginMilliseconds, ttlMilliseconds / 2)
    }

    /// A successful renew sent at `sentAt` extends the window.
    public mutating func renewed(sentAt: UInt64, ttlMilliseconds: UInt64, marginMilliseconds: UInt64) {
        trustedUntil = max(trustedUntil, sentAt + ttlMilliseconds - min(marginMilliseconds, ttlMilliseconds / 2))
    }

    /// Milliseconds of trust left at `now` (0 when expired).
    public func remaining(at now: UInt64) -> UInt64 { now >= trustedUntil ? 0 : trustedUntil - now }
}
