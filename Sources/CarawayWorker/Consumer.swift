import CarawayBroker
import CarawayLoop
import CarawayProtocol
import Logging

/// The node's task state machine: reserve one message per idle child, run it, settle it.
///
/// ```
///  idle child ──reserve──► reservation ──checks──► run on child ──reply──► settle ──► idle
///                 │ nil                    │ bad / unknown / expired / too often redelivered
///                 ▼                        ▼
///           QueueWaiter.arm()        settle with dead letter or failure result
///  child lost mid-task ──► requeue at the head (reject-on-worker-lost) or failure result
/// ```
/// Invariants: a message leaves Redis in-flight only in the same script that stores its outcome
/// (I1); a reserve is issued only for an idle child that holds a pool slot, so the node never
/// holds more than K messages (I4); nothing here blocks the loop (I6).
public final class Consumer {
    // Fixed at construction.
    let loop: EventLoop
    let broker: Broker
    let pool: ChildPool
    let waiter: QueueWaiter
    let registry: TaskRegistry
    let clock: any WallClock
    let logger: Logger
    public var configuration: ConsumerConfiguration

    // Loop-confined state.
    var deliveries: [ObjectIdentifier: Delivery] = [:]
    var reserving: Set<ObjectIdentifier> = []
    /// In-flight fields this node knows it holds (running, settling, requeueing).
    var ownedFields: Set<String> = []
    /// Fields already acked when their task started (only under the planted bug).
    var ackedEarly: Set<String> = []
    var queueOrder: [String]
    var keyOrder: [String] = []
    /// True once a reserve found every queue empty: idle children then wait on the waiter rather
    /// than reserving, and a wake-up probes for one of them at a time (``probe()``).
    var queuesEmpty = false
    var draining = false
    /// Set when running tasks were requeued instead of finished (second signal, grace over).
    var forced = false
    var pendingOperations = 0
    var onDrained: (() -> Void)?
    public internal(set) var stats = ConsumerStats()
    /// Whether the broker side is usable (connected and registered); set by the node.
    public var isBrokerReady: () -> Bool = { true }
    /// Whether this node's lease surely still holds (a reservation is run only then).
    public var holdsLease: () -> Bool = { true }
    /// A reservation arrived when the lease was in doubt: the owner beats and reconciles.
    public var onLeaseInDoubt: (() -> Void)?
    /// Called when this node delayed a message (so the forwarder can look sooner).
    public var onDelayed: (() -> Void)?
    /// Every state transition of every task this node handles, as task name, state and runtime
    /// (for counters: cheap, always called).
    public var onTransition: ((_ task: String, _ state: String, _ runtime: Double?) -> Void)?
    /// Execution history sink: every state transition of every task this node handles, in full,
    /// while ``executionEventsWanted`` is true.
    public var onExecutionEvent: ((ExecutionEvent) -> Void)?
    /// Whether ``onExecutionEvent`` wants events now (history or Celery task events are on).
    public var executionEventsWanted: () -> Bool = { true }
    /// Whether the sink wants a task's arguments now (history or Celery task events are on):
    /// building them costs a parse per task that nothing else needs.
    public var eventsNeedArguments: () -> Bool = { true }
    /// The node's view of the durable revocation set (checked again right before a task runs).
    public var isRevoked: (String) -> Bool = { _ in false }

    public init(loop: EventLoop, broker: Broker, pool: ChildPool, waiter: QueueWaiter, registry: TaskRegistry,
                configuration: ConsumerConfiguration, clock: any WallClock = SystemClock(), logger: Logger) {
        self.loop = loop
        self.broker = broker
        self.pool = pool
        self.waiter = waiter
        self.registry = registry
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.queueOrder = configuration.queues
        rebuildKeyOrder()
        pool.onAvailable = { [weak self] _ in self?.fill() }
        pool.onReply = { [weak self] child, reply in self?.completed(child, reply) }
        pool.onLost = { [weak self] child, status, signal in self?.lost(child, status: status, signal: signal) }
        waiter.onData = { [weak self] in self?.probe() }
    }

    /// Tasks running now (for inspect), oldest first.
    public var active: [TaskRequestInfo] {
        deliveries.values.sorted { $0.startedAt < $1.startedAt }.map {
            TaskRequestInfo(id: $0.message.id, name: $0.message.task, args: $0.message.args, kwargs: $0.message.kwargs,
                            hostname: configuration.nodeName, timeStart: $0.startedAt, workerPID: Int($0.child.pid),
                            queue: $0.reservation.queue, priority: $0.message.priority, redelivered: $0.message.redelivered)
        }
    }

    /// Reserve requests in flight: a reserved message is dispatched the moment its reply arrives,
    /// so a node never holds messages it is not running (prefetch 1 per child, exactly).
    public var reservingCount: Int { reserving.count }

    /// Messages held: running plus reserved-in-flight.
    public var heldCount: Int { deliveries.count + reserving.count }

    /// True while a reply is due soon: tasks held, or settles and requeues awaiting Redis.
    public var isBusy: Bool { heldCount > 0 || pendingOperations > 0 }

    /// Reserves for every idle child, unless draining or the queues are known to be empty.
    public func fill() {
        guard !draining else { return }
        // Over the pool's own array, not `pool.available`, and the broker asked only once a child
        // needs a reserve: fill runs after every task and usually finds the child already served
        // by the reserve that rode along with its settle (docs/performance.md).
        var brokerReady: Bool?
        for child in pool.children where child.isAvailable {
            let id = ObjectIdentifier(child)
            guard deliveries[id] == nil, !reserving.contains(id) else { continue }
            if brokerReady == nil { brokerReady = isBrokerReady() }
            guard brokerReady == true else { return }
            if queuesEmpty {
                waiter.arm()
                return
            }
            reserve(for: child)
        }
    }

    /// The waiter saw a message land while the queues looked empty: reserve for one idle child
    /// only. The others keep waiting on the waiter (re-armed once this reserve is answered), so a
    /// lone message — a round trip's call — costs one reserve script, not one per idle child, and
    /// the sibling reserves that would find nothing do not delay the one that finds it (Redis runs
    /// a batch of commands before it answers any). A burst still fills every child: the re-armed
    /// `BLMOVE` returns at once while the queue holds more, and busy children refill through the
    /// reserve that rides along with each settle (docs/performance.md).
    func probe() {
        guard !draining, isBrokerReady() else { return }
        guard let child = pool.children.first(where: {
            $0.isAvailable && deliveries[ObjectIdentifier($0)] == nil && !reserving.contains(ObjectIdentifier($0))
        }) else { return }
        reserve(for: child)
    }

    /// Forgets that the queues looked empty (e.g. after a reconnect) and fills.
    public func wake() {
        queuesEmpty = false
        fill()
    }

    private func reserve(for child: PoolChild) {
        let id = ObjectIdentifier(child)
        reserving.insert(id)
        broker.reserve(from: keyOrder) { [weak self, weak child] result in
            self?.reserved(result, id: id, child: child)
        }
    }

    /// Handles the outcome of a reserve issued for `child` (alone, or after a settle).
    func reserved(_ result: Result<Reservation?, BrokerError>, id: ObjectIdentifier, child: PoolChild?) {
        reserving.remove(id)
        switch result {
        case .success(nil):
            queuesEmpty = true
            if !draining { waiter.arm() }
            checkDrained()
        case .success(let reservation?) where !holdsLease():
            // Found by the chaos harness (bug 6): a reply held up past the lease (a frozen
            // link) can arrive after peers presumed this node dead and re-ran the message.
            // Not owned, so the reconcile that follows a successful beat requeues it if it
            // is still ours, and finds it gone if a peer took it.
            logger.warning("node.reservation_after_lease", metadata: ["field": "\(reservation.field)", "queue.name": "\(reservation.queue)"])
            onLeaseInDoubt?()
            checkDrained()
        case .success(let reservation?):
            ownedFields.insert(reservation.field)
            rotate(past: reservation.queue)
            guard let child, !draining, child.state == .idle, child.holdsSlot, deliveries[id] == nil else {
                // The child went away or we are draining: give the message back untouched.
                giveBack(reservation)
                return
            }
            dispatch(reservation, to: child)
            // After a probe the queues still count as empty: other idle children wait on the waiter.
            if queuesEmpty { fill() }
        case .failure(.leaseLost):
            logger.warning("node.reserve_refused_lease_lost", metadata: ["node.id": "\(broker.nodeID)"])
            checkDrained()
        case .failure(let error):
            logger.debug("broker.reserve_failed", metadata: ["error": "\(error)"])
            checkDrained()
            // Found by the chaos harness: nothing else wakes an idle child whose reserve failed
            // while the connection still looked ready, so try again shortly.
            LoopTimer.once(loop: loop, after: 250) { [weak self] in self?.fill() }
        }
    }

    /// `child` if a reserve for it may ride along with the settle of the task it just finished.
    /// Also while the queues looked empty: the child ran a message, so something arrived since,
    /// and a reserve inside the settle script costs a few `RPOP`s, where waiting for the waiter
    /// costs a `BLMOVE` round trip and a reserve of its own.
    func reserveTarget(after child: PoolChild) -> PoolChild? {
        let id = ObjectIdentifier(child)
        guard !draining, child.state == .idle, child.holdsSlot, deliveries[id] == nil, !reserving.contains(id),
              isBrokerReady() else { return nil }
        return child
    }

    private func rotate(past queue: String) {
        guard queueOrder.count > 1, let index = queueOrder.firstIndex(of: queue) else { return }
        queueOrder.remove(at: index)
        queueOrder.append(queue)
        rebuildKeyOrder()
    }

    private func rebuildKeyOrder() {
        keyOrder = RedisKeys.prioritySteps.flatMap { step in queueOrder.map { broker.keys.queue($0, priority: step) } }
    }

    /// Checks a fresh reservation and either runs it or settles it at once.
    func dispatch(_ reservation: Reservation, to child: PoolChild) {
        let now = clock.now
        if reservation.envelope.count > configuration.maxMessageBytes {
            deadLetter(reservation, reason: "message of \(reservation.envelope.count) bytes exceeds the limit of \(configuration.maxMessageBytes) bytes (--max-message-bytes)", message: nil)
            return
        }
        let message: CeleryMessage
        do {
            message = try CeleryMessage.decode(reservation.envelope)
        } catch {
            deadLetter(reservation, reason: "undecodable message: \(error)", message: nil)
            return
        }
        if message.deliveries >= configuration.maxDeliveries {
            let reason = "delivered \(message.deliveries) times and every run was lost with its worker (--max-deliveries \(configuration.maxDeliveries)); poison message"
            deadLetter(reservation, reason: reason, message: message,
                       failure: TaskError(type: "WorkerLostError", message: reason, module: "billiard.exceptions"))
            return
        }
        guard let entry = registry.entry(message.task) else {
            deadLetter(reservation, reason: "unknown task '\(message.task)'", message: message,
                       failure: TaskError(type: "NotRegistered", message: "'\(message.task)'", module: "celery.exceptions"))
            return
        }
        if reservation.revoked || isRevoked(message.id) {
            settleRevoked(reservation, message: message, now: now)
            fill()
            return
        }
        if let expires = message.expires, expires < now {
            stats.expired += 1
            logger.info("task.expired", metadata: ["task.id": "\(message.id)", "task.name": "\(message.task)"])
            emit("REVOKED", message, queue: reservation.queue, error: "expired", withArguments: true)
            settle(reservation, message: message, record: .revoked(taskID: message.id, expired: true, dateDone: now,
                                                                   parentID: message.parentID, groupID: message.groupID))
            fill()
            return
        }
        if let eta = message.eta, eta > now + 0.005 {
            // Not held in memory until due (Celery's duplicate-ETA bug): back to Redis's delayed set.
            stats.deferred += 1
            let outgoing = OutgoingMessage(destinationKey: reservation.sourceKey, envelope: reservation.envelope,
                                           dueMilliseconds: Int64((eta * 1000).rounded(.up)),
                                           tag: message.deliveryTag ?? makeUUID())
            settle(reservation, message: nil, record: nil, followUps: [outgoing])
            onDelayed?()
            fill()
            return
        }
        run(message, entry: entry, reservation: reservation, on: child, now: now)
    }

    private func run(_ message: CeleryMessage, entry: TaskRegistry.Entry, reservation: Reservation, on child: PoolChild, now: Double) {
        let soft = message.timeLimit.soft ?? entry.options.softTimeLimit ?? configuration.softTimeLimit
        let hard = message.timeLimit.hard ?? entry.options.hardTimeLimit ?? configuration.hardTimeLimit
        let delivery = Delivery(reservation: reservation, message: message, options: entry.options, child: child, startedAt: now)
        deliveries[ObjectIdentifier(child)] = delivery
        // The producer's args/kwargs bytes go to the child as they are: the node never builds them.
        let frame = ChildRequest.frame(id: message.id, task: message.task, argsJSON: message.argsJSON,
                                       kwargsJSON: message.kwargsJSON, retries: message.retries, queue: reservation.queue,
                                       rootID: message.rootID, parentID: message.parentID,
                                       deliveries: message.deliveries + 1, softTimeLimit: soft)
        if let soft, soft > 0 {
            delivery.softTimer = LoopTimer.once(loop: loop, after: UInt64(min(soft, CeleryMessage.maximumTimeLimit) * 1000)) { [weak child] in
                _ = child?.process.kill(10) // SIGUSR1: the child raises its soft-limit flag
            }
        }
        if let hard, hard > 0 {
            delivery.hardTimer = LoopTimer.once(loop: loop, after: UInt64(min(hard, CeleryMessage.maximumTimeLimit) * 1000)) { [weak self, weak delivery] in
                guard let self, let delivery else { return }
                delivery.timedOut = true
                self.logger.warning("task.time_limit_exceeded", metadata: ["task.id": "\(message.id)", "task.name": "\(message.task)", "child.pid": "\(delivery.child.pid)"])
                self.pool.kill(delivery.child, signal: 9)
            }
        }
        logger.info("task.started", metadata: ["task.id": "\(message.id)", "task.name": "\(message.task)", "child.pid": "\(child.pid)"])
        emit("RECEIVED", message, queue: reservation.queue, withArguments: true)
        emit("STARTED", message, queue: reservation.queue, pid: child.pid)
        if configuration.plantedAckBeforeResult {
            // The planted bug: ack now, store later. A crash in between loses the task.
            ackedEarly.insert(reservation.field)
            broker.settle(reservation, result: nil) { _ in }
        }
        pool.run(frame, on: child)
    }
}
