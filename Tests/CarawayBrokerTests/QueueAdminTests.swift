import CarawayBroker
import Testing

/// QueueAdmin's public operations end to end: purge (waiting + delayed, dry run), counts, and
/// queue discovery from bindings, delayed messages and in-flight work.
struct QueueAdminTests {
    static let sep = RedisKeys.separator

    /// Two queues with waiting, delayed and held messages, plus a bystander queue.
    static let world: BrokerState = {
        var s = BrokerState(
            queues: [priorityKey("a", 0): ["a1", "a2"], priorityKey("a", 9): ["a3"], priorityKey("b", 3): ["b1"], "c": ["c1"]],
            inflight: ["n1": ["1": stored("a", "held-a"), "2": stored(priorityKey("b", 6), "held-b")],
                       "n2": ["1": stored("a", "held-a2")],
                       "gone": ["1": stored("a", "orphan")]],
            nodes: ["n1": 60_000, "n2": 60_000])
        s.delay(tag: "da", due: 60_000, destination: priorityKey("a", 3), envelope: "later-a")
        s.delay(tag: "db1", due: 60_000, destination: "b", envelope: "later-b1")
        s.delay(tag: "db2", due: 90_000, destination: "b", envelope: "later-b2")
        s.delay(tag: "dc", due: 90_000, destination: "c", envelope: "later-c")
        return s
    }()

    @Test func purgeRemovesWaitingAndDelayedMessagesOfTheNamedQueuesOnly() throws {
        let h = try BrokerHarness()
        try h.seed(Self.world)
        let report = try h.wait("purge") { h.admin().purge(queues: ["a", "b", "a", "empty"], delayed: true, dryRun: false, completion: $0) }
        #expect(try report.get() == [QueuePurge(queue: "a", waiting: 3, delayed: 1), QueuePurge(queue: "b", waiting: 1, delayed: 2),
                                     QueuePurge(queue: "empty", waiting: 0, delayed: 0)])
        var after = BrokerState(queues: ["c": ["c1"]], inflight: Self.world.inflight, nodes: Self.world.nodes)
        after.delay(tag: "dc", due: 90_000, destination: "c", envelope: "later-c")
        #expect(try h.snapshot() == after)
    }

    @Test func purgeWithoutDelayedLeavesDelayedMessages() throws {
        let h = try BrokerHarness()
        try h.seed(Self.world)
        let report = try h.wait("purge") { h.admin().purge(queues: ["b"], delayed: false, dryRun: false, completion: $0) }
        #expect(try report.get() == [QueuePurge(queue: "b", waiting: 1, delayed: 0)])
        var after = Self.world
        after.queues[priorityKey("b", 3)] = nil
        #expect(try h.snapshot() == after)
    }

    @Test func aDryRunReportsWhatAPurgeWouldRemoveAndChangesNothing() throws {
        let h = try BrokerHarness()
        try h.seed(Self.world)
        let dry = try h.wait("dry purge") { h.admin().purge(queues: ["a", "b"], delayed: true, dryRun: true, completion: $0) }
        #expect(try h.snapshot() == Self.world)
        let real = try h.wait("purge") { h.admin().purge(queues: ["a", "b"], delayed: true, dryRun: false, completion: $0) }
        #expect(try dry.get() == real.get())
    }

    @Test func countsReportWaitingDelayedAndInFlightPerQueue() throws {
        let h = try BrokerHarness()
        try h.seed(Self.world)
        let counts = try h.wait("counts") { h.admin().counts(queues: ["a", "b", "c", "none"], completion: $0) }
        #expect(try counts.get() == [
            QueueCount(queue: "a", waiting: 3, delayed: 1, inFlight: 2),  // "gone" is not a registered node
            QueueCount(queue: "b", waiting: 1, delayed: 2, inFlight: 1),
            QueueCount(queue: "c", waiting: 1, delayed: 1, inFlight: 0),
            QueueCount(queue: "none", waiting: 0, delayed: 0, inFlight: 0),
        ])
        #expect(try h.snapshot() == Self.world)
    }

    @Test func countsOfNoQueuesIsEmpty() throws {
        let h = try BrokerHarness()
        #expect(try h.wait("counts") { h.admin().counts(queues: [], completion: $0) }.get() == [])
        #expect(try h.wait("purge") { h.admin().purge(queues: [], delayed: true, dryRun: false, completion: $0) }.get() == [])
    }

    /// kombu binding members: routing key, pattern, queue.
    static func member(_ routingKey: String, _ queue: String) -> String { routingKey + sep + "" + sep + queue }

    @Test func discoveryUnitesBindingsDelayedDestinationsInFlightSourcesAndExtras() throws {
        let h = try BrokerHarness()
        var s = BrokerState(inflight: ["n1": ["1": stored(priorityKey("held", 6), "x")], "gone": ["1": stored("orphaned", "y")]],
                            nodes: ["n1": 60_000])
        s.delay(tag: "t", due: 1_000, destination: priorityKey("later", 9), envelope: "z")
        try h.seed(s)
        try h.redis("SADD", h.keys.binding(exchange: "celery"), Self.member("celery", "celery"), Self.member("video", "video"))
        try h.redis("SADD", h.keys.binding(exchange: "direct.x"), Self.member("k", "x-queue"), "malformed")
        try h.redis("SADD", h.keys.binding(exchange: "celery.pidbox"), Self.member("", "n1@host.celery.pidbox"))
        try h.redis("SADD", h.keys.binding(exchange: "reply.celery.pidbox"), Self.member("r", "r-queue"))
        try h.redis("SADD", h.keys.binding(exchange: "celeryev"), Self.member("worker.#", "celeryev.1234"))
        try h.redis("SADD", h.keys.binding(exchange: "other"), Self.member("a", "x.pidbox"), Self.member("b", "celeryev.5"))
        try h.redis("SADD", h.keys.permanentBinding(exchange: "celery"), Self.member("perm", "permanent-only"))
        try h.redis("SET", h.keys.binding(exchange: "notaset"), "x")
        let found = try h.wait("discoverQueues") { h.admin(scanCount: 2).discoverQueues(including: ["extra", "celery", ""], completion: $0) }
        #expect(try found.get() == ["celery", "extra", "held", "later", "video", "x-queue"])
    }

    @Test func discoveryUnderAPrefixWithGlobCharactersMatchesOnlyThatPrefix() throws {
        let h = try BrokerHarness(prefix: "app[1]*:")
        try h.redis("SADD", h.keys.binding(exchange: "celery"), Self.member("celery", "mine"))
        try h.redis("SADD", "app1X:_kombu.binding.celery", Self.member("celery", "not-mine"))
        try h.redis("SADD", "_kombu.binding.celery", Self.member("celery", "unprefixed"))
        var s = BrokerState()
        s.delay(tag: "t", due: 1_000, destination: h.keys.queue("later", priority: 3), envelope: "z")
        try h.seed(s)
        let found = try h.wait("discoverQueues") { h.admin().discoverQueues(including: [], completion: $0) }
        #expect(try found.get() == ["later", "mine"])
    }
}
