import CarawayBeat
import CarawayBroker
import CarawayHTTP
import CarawayLoop
import CarawayPostgres
import CarawayProtocol
import CarawayRedis
import CarawayStore
import CarawayWorker
import Logging

/// The Postgres side of a node: migrations, the beat candidate, the execution history writer and
/// the REST API's store. Present only when the node has a database URL.
///
/// Two connections: one for the beat (it LISTENs, and its fire statements must not queue behind
/// history batches) and one shared by the history writer and the API.
final class NodeBeat {
    let beatStore: Store
    let store: Store
    let elector: Elector
    let scheduler: BeatScheduler
    let history: HistoryWriter?
    let logger: Logger
    let loop: EventLoop
    private var migrated = false
    private var migrating = false

    init(loop: EventLoop, configuration: NodeConfiguration, database: PostgresEndpoint, redis: RedisConnection, keys: RedisKeys,
         logger: Logger) {
        self.loop = loop
        self.logger = logger
        let beatConnection = PostgresConnection(loop: loop, endpoint: database, name: "beat", logger: logger)
        let mainConnection = PostgresConnection(loop: loop, endpoint: database, name: "store", logger: logger)
        beatStore = Store(connection: beatConnection)
        store = Store(connection: mainConnection)
        elector = Elector(loop: loop, connection: redis, keyPrefix: configuration.keyPrefix,
                          ttlMilliseconds: UInt64(configuration.beatLockTTL * 1000), logger: logger)
        var beatConfiguration = BeatScheduler.Configuration(nodeName: configuration.name, routes: configuration.routes)
        beatConfiguration.historyRetentionDays = configuration.historyRetentionDays
        beatConfiguration.plantedUnfencedFire = configuration.plantedBug == "unfenced-fire"
        scheduler = BeatScheduler(loop: loop, store: beatStore, redis: redis, keys: keys, elector: elector,
                                  configuration: beatConfiguration, clock: { SystemClock().now }, logger: logger)
        history = configuration.history ? HistoryWriter(loop: loop, store: store, logger: logger) : nil
        beatConnection.onReady = { [weak self] in self?.migrate() }
        mainConnection.onReady = { [weak self] in self?.migrate() }
    }

    func start(beat: Bool) {
        beatStore.connection.connect()
        store.connection.connect()
        history?.start()
        if beat { scheduler.start() }
    }

    /// Migrations run once per process before the beat may lead (three nodes at once: the
    /// advisory lock serialises them).
    private func migrate() {
        guard !migrated, !migrating, store.connection.isReady else { return }
        migrating = true
        store.migrate { [weak self] result in
            guard let self else { return }
            self.migrating = false
            switch result {
            case .success:
                self.migrated = true
                self.logger.info("store.migrated")
                self.elector.start()
            case .failure(let error):
                self.logger.error("store.migration_failed", metadata: ["error": "\(error)"])
                LoopTimer.once(loop: self.loop, after: 1_000) { [weak self] in self?.migrate() }
            }
        }
    }

    /// Steps down (releasing the lock at once) and flushes history.
    func stop(_ done: @escaping () -> Void) {
        scheduler.stop()
        elector.stop { [weak self] in
            guard let self else { done(); return }
            let finish = {
                self.beatStore.connection.close()
                self.store.connection.close()
                done()
            }
            if let history = self.history { history.stop(finish) } else { finish() }
        }
    }

    var healthJSON: JSON {
        var o = JSONObject()
        o["leader"] = .bool(scheduler.isFiring)
        o["epoch"] = elector.term.map { JSON(Int($0.epoch)) } ?? .null
        o["fired"] = JSON(scheduler.fired)
        o["postgres"] = .bool(store.connection.isReady && beatStore.connection.isReady)
        o["migrated"] = .bool(migrated)
        if let history {
            o["history_pending"] = JSON(history.pending)
            o["history_written"] = JSON(history.written)
            o["history_dropped"] = JSON(history.dropped)
        }
        return .object(o)
    }
}
