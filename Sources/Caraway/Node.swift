import CarawayBroker
import CarawayControl
import CarawayHTTP
import CarawayLoop
import CarawayPostgres
import CarawayProtocol
import CarawayStore
import CarawayRedis
import CarawayWorker
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// One Caraway node: one process, one libuv loop, K children, and the background components
/// (heartbeater, recoverer, forwarder, queue waiter) around the consumer.
///
/// Start order: Redis connects → the node registers its lease → it reconciles its in-flight
/// hash → children that are ready get work. Stop order (SIGTERM): stop reserving → running
/// tasks finish → children exit → the lease is released → exit 0. A second signal forces.
public final class Node {
    public let configuration: NodeConfiguration
    public let nodeID: String
    let loop: EventLoop
    let logger: Logger
    let registry: TaskRegistry
    let startedAt = SystemClock().now

    let connection: RedisConnection
    let broker: Broker
    let waiter: QueueWaiter
    let pool: ChildPool
    let consumer: Consumer
    let heartbeater: Heartbeater
    let recoverer: Recoverer
    let forwarder: Forwarder
    let lag: LoopLagMonitor
    var http: HTTPServer?
    let beat: NodeBeat?
    // Control plane: remote control, events, inspect snapshots, revocations, metrics.
    let clock = LamportClock()
    let controlKeys: ControlKeys
    let subscriber: RedisSubscriber
    let pidbox: Pidbox
    let events: EventDispatcher
    let snapshots: SnapshotPublisher
    let revocations: Revocations
    let inspector: ClusterInspector
    let queueAdmin: QueueAdmin
    let metrics = NodeMetrics()
    private var online = false
    public static let version = "0.4.0"
    private var signals: [SignalWatcher] = []
    private var stopping = false

    public init(configuration: NodeConfiguration, registry: TaskRegistry, logger: Logger) throws {
        self.configuration = configuration
        self.registry = registry
        self.logger = logger
        loop = try EventLoop()
        var random = SystemRandomNumberGenerator()
        nodeID = "\(configuration.name)-\(getpid())-\(String(random.next() & 0xFFFFFF, radix: 16))"
        let keys = RedisKeys(prefix: configuration.keyPrefix)
        connection = RedisConnection(loop: loop, endpoint: configuration.redis, name: "commands", logger: logger)
        broker = Broker(connection: connection, keys: keys, nodeID: nodeID)
        waiter = QueueWaiter(loop: loop, endpoint: configuration.redis,
                             keys: RedisKeys.prioritySteps.flatMap { step in configuration.queues.map { keys.queue($0, priority: step) } },
                             logger: logger)
        var environment = Self.inheritedEnvironment().filter { !$0.hasPrefix(ChildMain.environmentFlag + "=") }
        environment.append(ChildMain.environmentFlag + "=1")
        environment.append("CARAWAY_LOG_FORMAT=\(configuration.logFormat.rawValue)")
        environment.append("CARAWAY_LOG_LEVEL=\(configuration.logLevel.rawValue)")
        environment.append("CARAWAY_NODE_NAME=\(configuration.name)")
        if let scripts = configuration.scriptsDirectory { environment.append("\(ScriptRunner.directoryVariable)=\(scripts)") }
        var poolConfiguration = ChildPool.Configuration(size: configuration.concurrency, maxTasksPerChild: configuration.maxTasksPerChild,
                                                          maxMemoryKiB: configuration.maxMemoryPerChildKiB,
                                                          executable: Self.childExecutable(), environment: environment)
        poolConfiguration.displayName = Self.executablePath()
        pool = ChildPool(loop: loop, configuration: poolConfiguration, logger: logger)
        consumer = Consumer(loop: loop, broker: broker, pool: pool, waiter: waiter, registry: registry,
                            configuration: ConsumerConfiguration(queues: configuration.queues, nodeName: configuration.name,
                                                                 maxMessageBytes: configuration.maxMessageBytes,
                                                                 maxDeliveries: configuration.maxDeliveries,
                                                                 softTimeLimit: configuration.softTimeLimit,
                                                                 hardTimeLimit: configuration.hardTimeLimit,
                                                                 resultExpires: configuration.resultExpires,
                                                                 shutdownGraceSeconds: configuration.shutdownGraceSeconds,
                                                                 routes: configuration.routes),
                            logger: logger)
        consumer.configuration.plantedAckBeforeResult = configuration.plantedBug == "ack-before-result"
        heartbeater = Heartbeater(loop: loop, broker: broker, leaseMilliseconds: Int(configuration.leaseSeconds * 1000), logger: logger)
        recoverer = Recoverer(loop: loop, broker: broker, logger: logger)
        forwarder = Forwarder(loop: loop, broker: broker, logger: logger)
        lag = LoopLagMonitor(loop: loop)
        let loop = self.loop, connection = self.connection
        beat = configuration.database.map {
            NodeBeat(loop: loop, configuration: configuration, database: $0, redis: connection, keys: keys, logger: logger)
        }
        controlKeys = ControlKeys(keys: keys, database: configuration.redis.database)
        subscriber = RedisSubscriber(loop: loop, endpoint: configuration.redis, name: "control", logger: logger)
        pidbox = Pidbox(connection: connection, keys: controlKeys, nodeName: configuration.name, clock: clock, logger: logger)
        events = EventDispatcher(loop: loop, connection: connection, keys: controlKeys, hostname: configuration.name, clock: clock,
                                 version: Node.version, taskEvents: configuration.taskEvents, logger: logger)
        snapshots = SnapshotPublisher(loop: loop, connection: connection, keys: controlKeys, nodeID: nodeID, logger: logger)
        revocations = Revocations(loop: loop, broker: broker, keys: controlKeys, logger: logger)
        inspector = ClusterInspector(connection: connection, keys: controlKeys)
        queueAdmin = QueueAdmin(connection: connection, keys: keys)
        wire()
    }

    private func wire() {
        consumer.isBrokerReady = { [unowned self] in self.connection.isReady && self.heartbeater.isRegistered }
        consumer.holdsLease = { [unowned self] in self.heartbeater.holdsLease }
        // Beat now: a lost lease re-registers, a kept one resyncs; both reconcile the in-flight hash.
        consumer.onLeaseInDoubt = { [unowned self] in self.heartbeater.resync() }
        consumer.onDelayed = { [unowned self] in self.forwarder.poke() }
        // After a reconnect, renew first: if peers presumed us dead meanwhile, the renew says so
        // (lease lost) instead of a blind re-register hiding it.
        connection.onReady = { [unowned self] in self.heartbeater.resync() }
        // A reconnect that kept the lease: a reserve whose reply was lost left a stray entry in
        // our in-flight hash, and a wake-up may have come while we could not reserve (chaos bugs
        // 4 and 5). The HGETALL goes out after every reserve already sent on this connection.
        heartbeater.onResynced = { [unowned self] in
            self.logger.info("node.resynced", metadata: ["node.id": "\(self.nodeID)"])
            self.consumer.reconcile()
            self.consumer.wake()
        }
        heartbeater.onRegistered = { [unowned self] in
            self.logger.info("node.registered", metadata: ["node.id": "\(self.nodeID)"])
            if !self.online {
                self.online = true
                self.events.start()
            }
            self.snapshots.publish()
            self.consumer.reconcile()
            self.consumer.wake()
        }
        heartbeater.onLeaseLost = { [unowned self] in
            self.logger.warning("node.presumed_dead_by_peers", metadata: ["node.id": "\(self.nodeID)", "active": "\(self.consumer.active.count)"])
        }
        recoverer.isEnabled = { [unowned self] in self.heartbeater.isRegistered }
        consumer.onTransition = { [unowned self] in self.metrics.record(task: $0, state: $1, runtime: $2) }
        consumer.onExecutionEvent = { [unowned self] in self.executionEvent($0) }
        consumer.executionEventsWanted = { [unowned self] in self.beat?.history != nil || self.events.taskEventsEnabled }
        consumer.eventsNeedArguments = consumer.executionEventsWanted
        consumer.isRevoked = { [unowned self] in self.revocations.contains($0) }
        events.workerState = { [unowned self] in
            EventDispatcher.WorkerState(active: self.consumer.active.count, processed: self.consumer.stats.totals.values.reduce(0, +))
        }
        pidbox.handler = { [unowned self] request, reply in self.handleControl(request, reply: reply) }
        pidbox.attach(to: subscriber)
        snapshots.snapshot = { [unowned self] in self.snapshotJSON() }
        recoverer.onRecovered = { [unowned self] in self.consumer.requeueRecovered($0) }
    }

    /// Runs the node until it stops; returns the process exit code.
    public func run() throws -> Int32 {
        var exitCode: Int32 = 0
        signal(SIGPIPE, SIG_IGN)
        for sig in [SIGTERM, SIGINT] {
            signals.append(try SignalWatcher(loop: loop, signal: sig) { [unowned self] number in self.received(signal: number) })
        }
        if let host = configuration.httpHost {
            var limits = HTTPServer.Limits()
            limits.requestTimeout = .milliseconds(Int64(configuration.httpRequestTimeout * 1000))
            http = try HTTPServer(loop: loop, host: host, port: configuration.httpPort, limits: limits, logger: logger, handler: routes().handle)
        }
        if let bug = configuration.plantedBug {
            logger.critical("node.PLANTED_BUG_ENABLED", metadata: ["bug": "\(bug)", "note": "chaos self-test only: this node is wrong on purpose"])
        }
        logger.info("node.starting", metadata: ["node.name": "\(configuration.name)", "node.id": "\(nodeID)",
                                                "redis": "\(configuration.redis)", "concurrency": "\(configuration.concurrency)",
                                                "queues": "\(configuration.queues.joined(separator: ","))",
                                                "http": "\(configuration.httpHost.map { "\($0):\(http?.boundPort ?? 0)" } ?? "off")"])
        pool.start()
        beat?.start(beat: configuration.beat)
        connection.connect()
        subscriber.connect()
        revocations.start()
        snapshots.start()
        waiter.connect()
        heartbeater.start()
        recoverer.start()
        forwarder.start()
        lag.start()
        onExit = { exitCode = $0 }
        if configuration.busyPollMicroseconds > 0 {
            loop.run(busyPollingWhile: { [unowned self] in self.consumer.isBusy },
                     budget: UInt64(configuration.busyPollMicroseconds) * 1_000)
        } else {
            loop.run()
        }
        return exitCode
    }

    private var onExit: ((Int32) -> Void)?
    private var signalCount = 0

    private func received(signal number: Int32) {
        signalCount += 1
        if signalCount == 1 {
            logger.info("node.shutdown_requested", metadata: ["signal": "\(number)", "mode": "graceful"])
            shutdown()
        } else {
            logger.warning("node.shutdown_requested", metadata: ["signal": "\(number)", "mode": "forced"])
            consumer.forceShutdown()
        }
    }

    /// Graceful stop; see the type's documentation for the order.
    public func shutdown() {
        guard !stopping else { return }
        stopping = true
        consumer.beginShutdown { [unowned self] clean in
            self.pool.onStopped = { [unowned self] in self.release(clean: clean) }
            self.pool.stop(force: !clean)
        }
    }

    private func release(clean: Bool) {
        guard let beat else { releaseRedis(clean: clean); return }
        beat.stop { [unowned self] in self.releaseRedis(clean: clean) }
    }

    private func releaseRedis(clean: Bool) {
        if online { events.stop() }
        revocations.stop()
        subscriber.close()
        snapshots.stop { [unowned self] in self.releaseLease(clean: clean) }
    }

    private func releaseLease(clean: Bool) {
        heartbeater.stop()
        recoverer.stop()
        forwarder.stop()
        let finish: () -> Void = { [unowned self] in
            self.logger.info("node.stopped", metadata: ["node.id": "\(self.nodeID)", "clean": "\(clean)"])
            self.onExit?(clean ? 0 : 1)
            self.waiter.close()
            self.connection.close()
            self.http?.close()
            self.lag.stop()
            for watcher in self.signals { watcher.close() }
            self.loop.closeAllHandles()
        }
        // Leave the registry only with an empty in-flight hash; anything left is recovered by peers.
        connection.send(["HLEN", broker.keys.inflight(node: nodeID)]) { [unowned self] result in
            if case .success(let count) = result, count.int == 0 {
                self.broker.deregister { _ in finish() }
            } else {
                self.logger.warning("node.inflight_left_for_recovery", metadata: ["count": "\(String(describing: try? result.get().int))"])
                finish()
            }
        }
    }

    /// Children run `/proc/self/exe`: the very binary the node started from, even after an
    /// upgrade replaced the file on disk (a rolling upgrade must not mix versions inside a node).
    static func childExecutable() -> String {
        access("/proc/self/exe", X_OK) == 0 ? "/proc/self/exe" : executablePath()
    }

    static func executablePath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 { return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return CommandLine.arguments[0]
    }

    static func inheritedEnvironment() -> [String] {
        var result: [String] = []
        var pointer = environ
        while let entry = pointer.pointee {
            result.append(String(cString: entry))
            pointer += 1
        }
        return result
    }
}
