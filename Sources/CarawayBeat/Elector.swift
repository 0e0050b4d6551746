import CarawayLoop
import CarawayRedis
import Logging

/// Every node runs one: tries to take the beat lock, renews it while it holds it, and says when
/// leadership starts and ends.
///
/// ```
///            acquire OK (epoch e)                renew fails / trust window ends
///  follower ─────────────────────► leader(e) ───────────────────────────────► follower
///     ▲  acquire nil: retry every TTL/3            │ stop(): release (compare-and-delete)
///     └────────────────────────────────────────────┘
/// ```
/// - Lock `caraway:beat:lock` = "<epoch>:<token>", `SET NX PX ttl` drawn together with
///   `INCR caraway:beat:epoch` (one script), so each term has a unique, growing epoch.
/// - Renew every TTL/3 with a compare-token script. The term is trusted only until
///   (send time of the last successful acquire/renew) + TTL − margin; past that the leader stops at
///   once (`onLost`), even if Redis is merely unreachable — another node may already lead.
/// - Fires are fenced by the epoch in Postgres, so even a leader that resumes from a pause longer
///   than the TTL cannot fire a tick twice (I3).
public final class Elector {
    public let ttlMilliseconds: UInt64
    public let marginMilliseconds: UInt64
    let loop: EventLoop
    let connection: RedisConnection
    let lockKey: String
    let epochKey: String
    let logger: Logger

    public private(set) var term: LeadershipTerm?
    private var timer: LoopTimer?
    private var expiryTimer: LoopTimer?
    private var attempting = false
    private var token: String
    /// Leadership won: the term's epoch.
    public var onElected: ((LeadershipTerm) -> Void)?
    /// Leadership lost (renew refused, Redis unreachable past the trust window, or stop()).
    public var onLost: ((LeadershipTerm) -> Void)?

    public init(loop: EventLoop, connection: RedisConnection, keyPrefix: String = "", ttlMilliseconds: UInt64 = 10_000,
                marginMilliseconds: UInt64 = 500, logger: Logger) {
        precondition(ttlMilliseconds >= 300, "the beat lock TTL must be at least 300 ms")
        self.loop = loop
        self.connection = connection
        self.lockKey = keyPrefix + "caraway:beat:lock"
        self.epochKey = keyPrefix + "caraway:beat:epoch"
        self.ttlMilliseconds = ttlMilliseconds
        self.marginMilliseconds = marginMilliseconds
        self.logger = logger
        var random = SystemRandomNumberGenerator()
        token = String(random.next(), radix: 36)
    }

    /// True while this node holds a term it still trusts.
    public var isLeader: Bool {
        guard let term else { return false }
        return term.remaining(at: Self.now()) > 0
    }

    public func start() {
        if timer == nil { timer = LoopTimer(loop: loop) }
        timer?.start(after: 0, repeat: max(ttlMilliseconds / 3, 100)) { [weak self] in self?.tick() }
    }

    /// Tries at once (e.g. right after Redis reconnects).
    public func poke() { tick() }

    /// Steps down: releases the lock so another node takes over without waiting for the TTL.
    public func stop(_ done: (() -> Void)? = nil) {
        timer?.close()
        timer = nil
        expiryTimer?.close()
        expiryTimer = nil
        guard let held = term else { done?(); return }
        lose(reason: "stopping")
        connection.evaluate(LockScripts.release, keys: [Array(lockKey.utf8)], arguments: [Array(held.lockValue.utf8)]) { _ in done?() }
    }

    static func now() -> UInt64 { EventLoop.hrtime / 1_000_000 }

    private func tick() {
        guard !attempting, connection.isReady else {
            checkTrust()
            return
        }
        attempting = true
        let sentAt = Self.now()
        if let held = term {
            connection.evaluate(LockScripts.renew, keys: [Array(lockKey.utf8)],
                                arguments: [Array(held.lockValue.utf8), Array(String(ttlMilliseconds).utf8)]) { [weak self] result in
                guard let self else { return }
                self.attempting = false
                guard var current = self.term, current == held else { return }
                switch result {
                case .success(let value) where value.int == 1:
                    current.renewed(sentAt: sentAt, ttlMilliseconds: self.ttlMilliseconds, marginMilliseconds: self.marginMilliseconds)
                    self.term = current
                    self.armExpiry()
                case .success:
                    self.lose(reason: "lock taken by another term")
                case .failure(let error):
                    self.logger.warning("beat.renew_failed", metadata: ["beat.epoch": "\(held.epoch)", "error": "\(error)"])
                    self.checkTrust()
                }
            }
        } else {
            token = String(UInt64.random(in: 0...UInt64.max), radix: 36)
            connection.evaluate(LockScripts.acquire, keys: [Array(lockKey.utf8), Array(epochKey.utf8)],
                                arguments: [Array(token.utf8), Array(String(ttlMilliseconds).utf8)]) { [weak self] result in
                guard let self else { return }
                self.attempting = false
                guard self.term == nil, case .success(let value) = result, let epoch = value.int else { return }
                let won = LeadershipTerm(epoch: epoch, lockValue: "\(epoch):\(self.token)", sentAt: sentAt,
                                         ttlMilliseconds: self.ttlMilliseconds, marginMilliseconds: self.marginMilliseconds)
                guard won.remaining(at: Self.now()) > 0 else { return }
                self.term = won
                self.armExpiry()
                self.logger.info("beat.elected", metadata: ["beat.epoch": "\(epoch)"])
                self.onElected?(won)
            }
        }
    }

    /// Fires exactly when the trust window ends, so a leader stops at once, not at its next tick.
    private func armExpiry() {
        guard let term else { return }
        if expiryTimer == nil { expiryTimer = LoopTimer(loop: loop) }
        expiryTimer?.start(after: term.remaining(at: Self.now()) + 1) { [weak self] in self?.checkTrust() }
    }

    private func checkTrust() {
        guard let term, term.remaining(at: Self.now()) == 0 else { return }
        lose(reason: "trust window ended without a successful renew")
    }

    private func lose(reason: String) {
        guard let lost = term else { return }
        term = nil
        expiryTimer?.stop()
        logger.warning("beat.leadership_lost", metadata: ["beat.epoch": "\(lost.epoch)", "reason": "\(reason)"])
        onLost?(lost)
    }
}
