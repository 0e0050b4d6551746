import CarawayBroker
import CarawayLoop
import CarawayProtocol
import CarawayRedis
import CarawayStore
import Logging

/// The leader's job: fire every due tick of every schedule exactly once.
///
/// ```
///  elected(e) ──► fence e in Postgres ──► repair outbox ──► load schedules ──► timer at next due
///                     │ newer fence exists: stay idle                 ▲ NOTIFY / 5 s re-read
///  timer ──► plan ticks (misfire policy, singleton) ──► ONE statement: fence check + advance + fire rows
///        ──► enqueue_once to Redis per recorded tick ──► mark enqueued (outbox)
///  lost ──► stop timers at once; nothing fires without a trusted term and a matching fence
/// ```
/// At most once per tick: the (schedule, tick) primary key, the `next_run_at` precondition and the
/// epoch fence, all checked inside the one statement. At least once while a node lives: a leader
/// that dies after commit leaves `enqueued_at` NULL and the next leader re-enqueues with the same
/// task id, which `enqueue_once` publishes only if it never was (I3).
public final class BeatScheduler {
    public struct Configuration: Sendable {
        public var nodeName: String
        public var routes: TaskRoutes
        /// A tick counts as on time within this many seconds (beyond: misfire policy).
        public var misfireTolerance: Double = 1.0
        /// Periodic re-read in case a NOTIFY was missed (e.g. during a reconnect).
        public var reloadIntervalMilliseconds: UInt64 = 5_000
        /// The leader prunes execution history older than this (0 keeps everything).
        public var historyRetentionDays: Double = 7
        /// PLANTED BUG, for the chaos harness's self-test only (`CARAWAY_PLANTED_BUG=unfenced-fire`):
        /// fires without the fenced fire record and keeps firing after the lock's trust window.
        public var plantedUnfencedFire = false
        public init(nodeName: String, routes: TaskRoutes = TaskRoutes()) {
            self.nodeName = nodeName
            self.routes = routes
        }
    }

    let loop: EventLoop
    let store: Store
    let redis: RedisConnection
    let keys: RedisKeys
    let elector: Elector
    let configuration: Configuration
    let clock: @Sendable () -> Double
    let logger: Logger

    // Leader state, loop-confined.
    private(set) public var term: LeadershipTerm?
    private var fenced = false
    private var records: [Int64: ScheduleRecord] = [:]
    private var plans: [Int64: Schedule] = [:]
    private var reported: [Int64: String] = [:]
    private var busy: Set<Int64> = []

    func markBusy(_ id: Int64) { busy.insert(id) }
    func markIdle(_ id: Int64) { busy.remove(id) }
    func countFired() { fired += 1 }
    func rearm() { arm() }

    /// Local bookkeeping after a committed fire, so the next timer plans from the new state.
    func noteFired(_ id: Int64, next: Double?, lastTick: Double, lastTaskID: String, disabled: Bool) {
        records[id]?.nextRunAt = next
        records[id]?.lastRunAt = lastTick
        records[id]?.lastTaskID = lastTaskID
        if disabled {
            records[id]?.enabled = false
            plans[id] = nil
        }
    }
    private var timer: LoopTimer?
    private var reloadTimer: LoopTimer?
    private var reloading = false
    private var lastPrune: Double = 0
    /// After a failed statement (Postgres away) nothing is retried before this time: no busy loop.
    private var pausedUntil: Double = 0

    func pauseAfterFailure() { pausedUntil = clock() + 0.5 }
    /// Ticks this node recorded and enqueued (stats).
    public private(set) var fired = 0

    public init(loop: EventLoop, store: Store, redis: RedisConnection, keys: RedisKeys, elector: Elector,
                configuration: Configuration, clock: @escaping @Sendable () -> Double, logger: Logger) {
        self.loop = loop
        self.store = store
        self.redis = redis
        self.keys = keys
        self.elector = elector
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
    }

    public var isFiring: Bool { term != nil && fenced && (elector.isLeader || configuration.plantedUnfencedFire) }

    public func start() {
        elector.onElected = { [weak self] term in self?.elected(term) }
        elector.onLost = { [weak self] _ in self?.stepDown() }
        store.connection.onNotification = { [weak self] channel, _ in
            if channel == "caraway_schedules" { self?.reload() }
        }
        store.connection.listen("caraway_schedules")
    }

    public func stop() {
        stepDown()
    }

    private func elected(_ won: LeadershipTerm) {
        term = won
        fenced = false
        store.beatFence(epoch: won.epoch, node: configuration.nodeName) { [weak self] result in
            guard let self, self.term == won else { return }
            switch result {
            case .success(true):
                self.fenced = true
                self.logger.info("beat.fenced", metadata: ["beat.epoch": "\(won.epoch)"])
                self.repairOutbox()
                self.reload()
                if self.reloadTimer == nil { self.reloadTimer = LoopTimer(loop: self.loop) }
                self.reloadTimer?.start(after: self.configuration.reloadIntervalMilliseconds,
                                        repeat: self.configuration.reloadIntervalMilliseconds) { [weak self] in
                    self?.repairOutbox()
                    self?.reload()
                    self?.pruneHistory()
                }
            case .success(false):
                self.logger.warning("beat.fenced_off", metadata: ["beat.epoch": "\(won.epoch)", "note": "a newer term already fired"])
            case .failure(let error):
                // Postgres unreachable: keep the term; retry the fence shortly.
                self.logger.warning("beat.fence_failed", metadata: ["error": "\(error)"])
                LoopTimer.once(loop: self.loop, after: 500) { [weak self] in
                    if let self, self.term == won, !self.fenced { self.elected(won) }
                }
            }
        }
    }

    private func stepDown() {
        term = nil
        fenced = false
        busy.removeAll()
        timer?.stop()
        reloadTimer?.stop()
    }

    /// Retention: the leader deletes history older than the configured days, at most every 10 min.
    private func pruneHistory() {
        let days = configuration.historyRetentionDays
        let now = clock()
        guard days > 0, isFiring, now - lastPrune >= 600 else { return }
        lastPrune = now
        store.executionsPrune(olderThan: now - days * 86_400) { [weak self] result in
            if case .success(let n) = result, n > 0 { self?.logger.info("history.pruned", metadata: ["rows": "\(n)"]) }
        }
    }

    /// Re-reads every schedule (NOTIFY, timer, after fencing).
    public func reload() {
        guard isFiring, !reloading else { return }
        reloading = true
        store.scheduleList { [weak self] result in
            guard let self else { return }
            self.reloading = false
            guard case .success(let rows) = result else { self.arm(); return }
            self.records = Dictionary(uniqueKeysWithValues: rows.map { ($0.id, $0) })
            self.plans = [:]
            for row in rows where row.enabled {
                do {
                    let schedule = try Schedule(json: row.schedule)
                    _ = try MisfirePolicy(row.misfire)
                    if let reason = schedule.unschedulableReason(now: self.clock(), anchor: row.startAt ?? row.createdAt) {
                        throw ScheduleError.invalidField(field: "schedule", reason: reason)
                    }
                    self.plans[row.id] = schedule
                    guard row.args.arrayValue != nil, row.kwargs.objectValue != nil else {
                        throw ScheduleError.invalidField(field: "args/kwargs", reason: "args must be a JSON array and kwargs a JSON object")
                    }
                    self.reported[row.id] = nil
                } catch {
                    self.reportInvalid(row, error: "\(error)")
                }
            }
            self.arm()
        }
    }

    /// A bad row (e.g. written by plain SQL) is logged once per change and skipped; others go on.
    func reportInvalid(_ row: ScheduleRecord, error: String) {
        plans[row.id] = nil
        guard reported[row.id] != error else { return }
        reported[row.id] = error
        logger.error("beat.schedule_invalid", metadata: ["schedule.id": "\(row.id)", "schedule.name": "\(row.name)", "error": "\(error)"])
        store.scheduleRecordStatus(id: row.id, status: "INVALID", error: error) { _ in }
    }

    /// Sets the timer for the earliest due schedule (at most 1 s away, to re-check trust and time).
    private func arm() {
        guard isFiring else { return }
        let now = clock()
        var soonest = now + 1
        // Busy schedules re-arm when their statement completes; counting them would spin.
        for (id, _) in plans where !busy.contains(id) {
            guard let record = records[id] else { continue }
            soonest = min(soonest, record.nextRunAt ?? now)
        }
        soonest = max(soonest, pausedUntil)
        if timer == nil { timer = LoopTimer(loop: loop) }
        // At least 1 ms: a 0 ms timer re-armed from a timer callback runs again in the same loop
        // iteration (libuv does not advance its clock in between) and would starve all I/O.
        timer?.start(after: max(1, UInt64(max(0, (soonest - now) * 1000).rounded(.up)))) { [weak self] in self?.fireDue() }
    }

    private func fireDue() {
        guard isFiring, let term else { return }
        let now = clock()
        for (id, schedule) in plans where !busy.contains(id) {
            guard let record = records[id], record.enabled else { continue }
            if record.nextRunAt == nil {
                initialise(record, schedule: schedule, now: now, epoch: term.epoch)
            } else if let next = record.nextRunAt, next <= now {
                fire(record, schedule: schedule, now: now, epoch: term.epoch)
            }
        }
        arm()
    }

    /// First `next_run_at` for a row that has none (created by plain SQL, or just re-enabled).
    private func initialise(_ record: ScheduleRecord, schedule: Schedule, now: Double, epoch: Int64) {
        let from = max(now, record.startAt ?? now)
        let first = schedule.next(after: from - 0.001, anchor: anchor(of: record))
        advanceNext(record, expected: nil, to: first, epoch: epoch, status: nil)
    }

    private func anchor(of record: ScheduleRecord) -> Double { record.startAt ?? record.createdAt }

    func advanceNext(_ record: ScheduleRecord, expected: Double?, to next: Double?, epoch: Int64, status: String?) {
        busy.insert(record.id)
        store.scheduleAdvance(id: record.id, expectedNextRunAt: expected, nextRunAt: next, epoch: epoch, status: status) { [weak self] result in
            guard let self else { return }
            self.busy.remove(record.id)
            switch result {
            case .success(true): self.records[record.id]?.nextRunAt = next
            case .success(false): self.reload()
            case .failure(.server(let state, let message, _)):
                // The database refuses this row's values (e.g. a time it cannot store): retrying
                // cannot help, so the row is marked INVALID and skipped like any bad row.
                self.reportInvalid(record, error: "Postgres refused the schedule's next run (\(state)): \(message)")
            case .failure: self.pauseAfterFailure()
            }
            self.arm()
        }
    }
}
