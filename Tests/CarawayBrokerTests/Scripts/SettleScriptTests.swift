import CarawayBroker
import Testing

/// The `settle` script through `Broker.settle`: reply, PUBLISH on the result key, every key after.
struct SettleScriptTests {
    /// A follow-up message; `dueIn` is relative to the harness anchor (nil = now).
    struct FollowUp: Sendable {
        var destination: String
        var envelope: String
        var dueIn: Int64? = nil
        var tag: String
    }

    struct Write: Sendable {
        var taskID: String
        var value: String
        var ttlSeconds: Int
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var before: BrokerState
        var field: String = "7"
        var result: Write?
        var followUps: [FollowUp] = []
        var reply: Bool
        var published: [String]
        var after: BrokerState
    }

    static let q0 = priorityKey("q", 0)
    static let live: [String: Int64] = ["me": 60_000]
    static let success = #"{"status": "SUCCESS", "result": 5, "task_id": "abc"}"#
    static let failure = #"{"status": "FAILURE", "result": {"exc_type": "ValueError"}, "task_id": "abc"}"#
    static let started = #"{"status": "STARTED", "result": {"pid": 1}, "task_id": "abc"}"#
    static let mine = ["7": stored(q0, "env"), "8": stored(q0, "keep")]
    static let notMine = ["8": stored(q0, "keep")]

    static let cases: [Case] = [
        Case(testDescription: "when ours it LPUSHes now-follow-ups, delays due ones, stores the result with its TTL and publishes it",
             before: BrokerState(queues: ["next": ["older"]], inflight: ["me": mine], nodes: live),
             result: Write(taskID: "abc", value: success, ttlSeconds: 3_600),
             followUps: [FollowUp(destination: "next", envelope: "f1", tag: "t1"),
                         FollowUp(destination: "later", envelope: "f2", dueIn: 60_000, tag: "t2")],
             reply: true, published: [success],
             after: BrokerState(queues: ["next": ["f1", "older"]], inflight: ["me": notMine], nodes: live,
                                delayed: ["t2": 60_000], delayedMessages: ["t2": stored("later", "f2")],
                                results: ["abc": .init(success, ttlSeconds: 3_600)])),
        Case(testDescription: "pushes several now-follow-ups so that consumers take them in the order given",
             before: BrokerState(inflight: ["me": mine], nodes: live),
             followUps: [FollowUp(destination: "next", envelope: "f1", tag: "t1"),
                         FollowUp(destination: "next", envelope: "f2", tag: "t2"),
                         FollowUp(destination: "caraway:dead", envelope: "dead-record", tag: "t3")],
             reply: true, published: [],
             after: BrokerState(queues: ["next": ["f2", "f1"]], inflight: ["me": notMine], nodes: live, deadLetter: ["dead-record"])),
        Case(testDescription: "never overwrites a stored SUCCESS and then publishes nothing",
             before: BrokerState(inflight: ["me": mine], nodes: live, results: ["abc": .init(success)]),
             result: Write(taskID: "abc", value: failure, ttlSeconds: 3_600),
             reply: true, published: [],
             after: BrokerState(inflight: ["me": notMine], nodes: live, results: ["abc": .init(success)])),
        Case(testDescription: "replaces a stored state that is not final, resetting its TTL",
             before: BrokerState(inflight: ["me": mine], nodes: live, results: ["abc": .init(started, ttlSeconds: 100)]),
             result: Write(taskID: "abc", value: failure, ttlSeconds: 3_600),
             reply: true, published: [failure],
             after: BrokerState(inflight: ["me": notMine], nodes: live, results: ["abc": .init(failure, ttlSeconds: 3_600)])),
        Case(testDescription: "replaces a stored value that is not JSON",
             before: BrokerState(inflight: ["me": mine], nodes: live, results: ["abc": .init("garbage{")]),
             result: Write(taskID: "abc", value: success, ttlSeconds: 3_600),
             reply: true, published: [success],
             after: BrokerState(inflight: ["me": notMine], nodes: live, results: ["abc": .init(success, ttlSeconds: 3_600)])),
        Case(testDescription: "when not ours it returns false, publishes no follow-ups, and still stores and publishes the result",
             before: BrokerState(inflight: ["me": notMine], nodes: live),
             result: Write(taskID: "abc", value: success, ttlSeconds: 3_600),
             followUps: [FollowUp(destination: "next", envelope: "f1", tag: "t1"),
                         FollowUp(destination: "later", envelope: "f2", dueIn: 60_000, tag: "t2")],
             reply: false, published: [success],
             after: BrokerState(inflight: ["me": notMine], nodes: live, results: ["abc": .init(success, ttlSeconds: 3_600)])),
        Case(testDescription: "without a result key it stores and publishes nothing",
             before: BrokerState(inflight: ["me": ["7": stored(q0, "env")]], nodes: live),
             followUps: [FollowUp(destination: "next", envelope: "f1", tag: "t1")],
             reply: true, published: [],
             after: BrokerState(queues: ["next": ["f1"]], nodes: live)),
        Case(testDescription: "a TTL of zero stores the result without expiry",
             before: BrokerState(inflight: ["me": mine], nodes: live),
             result: Write(taskID: "abc", value: success, ttlSeconds: 0),
             reply: true, published: [success],
             after: BrokerState(inflight: ["me": notMine], nodes: live, results: ["abc": .init(success)])),
    ]

    @Test("settle finishes a delivery atomically", arguments: cases)
    func settle(_ c: Case) throws {
        let h = try BrokerHarness()
        try h.seed(c.before)
        let channel = try ChannelRecorder(h, channel: h.keys.result(taskID: "abc"))
        let broker = h.broker(node: "me")
        let reservation = Reservation(field: c.field, sourceKey: Self.q0, queue: "q", envelope: Array("env".utf8))
        let write = c.result.map { ResultWrite(key: h.keys.result(taskID: $0.taskID), value: Array($0.value.utf8), ttlSeconds: $0.ttlSeconds) }
        let followUps = c.followUps.map {
            OutgoingMessage(destinationKey: $0.destination, envelope: Array($0.envelope.utf8),
                            dueMilliseconds: $0.dueIn.map { h.anchor + $0 }, tag: $0.tag)
        }
        let result = try h.wait("settle") { broker.settle(reservation, result: write, followUps: followUps, $0) }
        #expect(try result.get() == c.reply)
        #expect(try channel.drain() == c.published)
        #expect(try h.snapshot() == c.after)
    }

    @Test func resultsUseTheResultBackendPrefix() throws {
        let h = try BrokerHarness(prefix: "pfx:", resultPrefix: "res")
        try h.seed(BrokerState(inflight: ["me": ["7": stored("pfx:q", "env")]], nodes: Self.live))
        let broker = h.broker(node: "me")
        let reservation = Reservation(field: "7", sourceKey: "pfx:q", queue: "q", envelope: [])
        let write = ResultWrite(key: h.keys.result(taskID: "abc"), value: Array(Self.success.utf8), ttlSeconds: 60)
        let result = try h.wait("settle") { broker.settle(reservation, result: write, $0) }
        #expect(try result.get() == true)
        #expect(try h.redis("GET", "res_celery-task-meta-abc").string == Self.success)
        #expect(try h.snapshot() == BrokerState(nodes: Self.live, results: ["abc": .init(Self.success, ttlSeconds: 60)]))
    }
}
