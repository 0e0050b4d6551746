import CarawayBroker
import CarawayProtocol
import CarawayRedis
import Testing

@testable import CarawayControl

/// Snapshots written by `SnapshotPublisher` and read back by `ClusterInspector`, on real Redis.
@Suite("SnapshotPublisher and ClusterInspector on real Redis")
struct ClusterInspectorTests {
    static func publisher(_ h: ControlHarness, id: String, name: String, intervalMilliseconds: UInt64 = 50) -> SnapshotPublisher {
        let publisher = SnapshotPublisher(loop: h.loop, connection: h.connection, keys: h.control, nodeID: id,
                                          intervalMilliseconds: intervalMilliseconds, logger: h.logger)
        publisher.snapshot = {
            ["name": .string(name), "node_id": .string(id),
             "replies": ["ping": ["ok": "pong"], "stats": ["pid": 4242, "clock": "7"], "active": [], "scheduled": []]]
        }
        return publisher
    }

    static func inspect(_ h: ControlHarness, _ what: InspectTarget, staleAfter: Double = 5,
                        configure: (ClusterInspector) -> Void = { _ in }) throws -> JSONObject {
        let inspector = ClusterInspector(connection: h.connection, keys: h.control)
        configure(inspector)
        let result: Result<JSON, RedisError> = try h.wait("inspect \(what)") { inspector.inspect(what, staleAfter: staleAfter, $0) }
        return try #require(try result.get().objectValue)
    }

    static func nodes(_ document: JSONObject) -> [JSONObject] {
        (document["nodes"]?.arrayValue ?? []).compactMap(\.objectValue)
    }

    static func stop(_ h: ControlHarness, _ publisher: SnapshotPublisher) throws {
        try h.wait("the publisher to stop") { done in publisher.stop { done(()) } }
    }

    @Test("Two running nodes both answer ping with status ok")
    func twoNodesOK() throws {
        let h = try ControlHarness()
        let alpha = Self.publisher(h, id: "alpha-101-aa01", name: "alpha@host")
        let beta = Self.publisher(h, id: "beta-node-202-bb02", name: "beta-node@host")
        alpha.start()
        beta.start()
        try h.run("both snapshots written") { alpha.written >= 1 && beta.written >= 1 }
        let document = try Self.inspect(h, .ping, staleAfter: 5)
        #expect(document["what"] == "ping")
        let nodes = Self.nodes(document)
        #expect(nodes.map { $0["name"] } == ["alpha@host", "beta-node@host"])
        #expect(nodes.map { $0["node_id"] } == ["alpha-101-aa01", "beta-node-202-bb02"])
        #expect(nodes.allSatisfy { $0["status"] == "ok" && $0["reply"] == ["ok": "pong"] })
        for node in nodes {
            let age = try #require(node["age_s"]?.doubleValue)
            #expect(age >= 0 && age < 5)
        }
        #expect(document["summary"] == ["ok": 2, "stale": 0, "missing": 0])
        #expect(document["took_ms"]?.doubleValue != nil)
        #expect(document["delayed"] == nil && document["revoked"] == nil)
        // Another target reads another reply from the same snapshot.
        let stats = try Self.inspect(h, .stats)
        #expect(Self.nodes(stats).allSatisfy { $0["reply"] == ["pid": 4242, "clock": "7"] })
        // A target the snapshot lacks reads as null.
        let conf = try Self.inspect(h, .conf)
        #expect(Self.nodes(conf).allSatisfy { $0["reply"] == .null && $0["status"] == "ok" })
        try Self.stop(h, alpha)
        try Self.stop(h, beta)
    }

    @Test("A node whose snapshots stopped goes stale past staleAfter while the other stays ok")
    func frozenNodeGoesStale() throws {
        let h = try ControlHarness()
        // The frozen node writes once (the timer's first shot) and never again, as a stuck loop would.
        let frozen = Self.publisher(h, id: "alpha-101-aa01", name: "alpha@host", intervalMilliseconds: 600_000)
        let live = Self.publisher(h, id: "beta-202-bb02", name: "beta@host", intervalMilliseconds: 50)
        frozen.start()
        live.start()
        try h.run("both snapshots written") { frozen.written >= 1 && live.written >= 1 }
        let before = try Self.inspect(h, .ping, staleAfter: 0.3)
        #expect(Self.nodes(before).map { $0["status"] } == ["ok", "ok"])
        let writes = live.written
        try h.elapse(0.45)
        #expect(frozen.written == 1)
        #expect(live.written > writes)
        let document = try Self.inspect(h, .ping, staleAfter: 0.3)
        let nodes = Self.nodes(document)
        #expect(nodes.map { $0["name"] } == ["alpha@host", "beta@host"])
        #expect(nodes.map { $0["status"] } == ["stale", "ok"])
        #expect(try #require(nodes[0]["age_s"]?.doubleValue) > 0.3)
        #expect(try #require(nodes[1]["age_s"]?.doubleValue) < 0.3)
        // A stale node still shows its last known reply.
        #expect(nodes[0]["reply"] == ["ok": "pong"])
        #expect(document["summary"] == ["ok": 1, "stale": 1, "missing": 0])
        try Self.stop(h, frozen)
        try Self.stop(h, live)
    }

    @Test("A live lease without a snapshot is missing; an expired lease is not listed")
    func leaseWithoutSnapshotIsMissing() throws {
        let h = try ControlHarness()
        let alpha = Self.publisher(h, id: "alpha-101-aa01", name: "alpha@host")
        alpha.start()
        try h.run("a snapshot written") { alpha.written >= 1 }
        let now = try h.redisTime()
        try h.redis("ZADD", h.keys.nodes, String(now + 60_000), "gamma-host-303-cc03", String(now - 1_000), "dead-404-dd04")
        let document = try Self.inspect(h, .ping)
        let nodes = Self.nodes(document)
        #expect(nodes.map { $0["node_id"] } == ["alpha-101-aa01", "gamma-host-303-cc03"])
        let gamma = nodes[1]
        #expect(gamma["status"] == "missing")
        #expect(gamma["name"] == "gamma-host")
        #expect(gamma["age_s"] == .null)
        #expect(gamma["reply"] == .null)
        #expect(document["summary"] == ["ok": 1, "stale": 0, "missing": 1])
        try Self.stop(h, alpha)
    }

    @Test("An indexed node whose snapshot key vanished is missing, with its age")
    func expiredSnapshotIsMissing() throws {
        let h = try ControlHarness()
        let alpha = Self.publisher(h, id: "alpha-101-aa01", name: "alpha@host", intervalMilliseconds: 600_000)
        alpha.start()
        try h.run("a snapshot written") { alpha.written >= 1 }
        try h.redis("DEL", h.control.snapshot(node: "alpha-101-aa01"))
        let nodes = Self.nodes(try Self.inspect(h, .ping))
        #expect(nodes.count == 1)
        #expect(nodes.first?["status"] == "missing")
        #expect(nodes.first?["name"] == "alpha")  // from the node id: the snapshot is gone
        #expect(nodes.first?["age_s"]?.doubleValue != nil)
        try Self.stop(h, alpha)
    }

    @Test("stop() removes the snapshot and the index entry; the node is no longer listed")
    func stopRemovesSnapshot() throws {
        let h = try ControlHarness()
        let alpha = Self.publisher(h, id: "alpha-101-aa01", name: "alpha@host")
        alpha.start()
        try h.run("a snapshot written") { alpha.written >= 1 }
        #expect(try h.redis("EXISTS", h.control.snapshot(node: "alpha-101-aa01")).int == 1)
        let ttl = try #require(try h.redis("PTTL", h.control.snapshot(node: "alpha-101-aa01")).int)
        #expect(ttl > 0 && ttl <= 60_000)
        try Self.stop(h, alpha)
        #expect(try h.redis("EXISTS", h.control.snapshot(node: "alpha-101-aa01")).int == 0)
        #expect(try h.redis("ZSCORE", h.control.snapshotIndex, "alpha-101-aa01").isNull)
        let writes = alpha.written
        try h.elapse(0.12)
        #expect(alpha.written == writes)  // the timer is gone
        let document = try Self.inspect(h, .ping)
        #expect(Self.nodes(document).isEmpty)
        #expect(document["summary"] == ["ok": 0, "stale": 0, "missing": 0])
    }

    @Test("The index stores Redis's clock: the score is within the TIME around the write")
    func indexUsesRedisClock() throws {
        let h = try ControlHarness()
        let alpha = Self.publisher(h, id: "alpha-101-aa01", name: "alpha@host", intervalMilliseconds: 600_000)
        let before = try h.redisTime()
        alpha.publish()
        try h.run("a snapshot written") { alpha.written >= 1 }
        let after = try h.redisTime()
        let score = try #require(try h.redis("ZSCORE", h.control.snapshotIndex, "alpha-101-aa01").string.flatMap(Int64.init))
        #expect(score >= before && score <= after)
        let stored = try #require(try h.redis("GET", h.control.snapshot(node: "alpha-101-aa01")).bytes)
        #expect(try JSON.parse(stored)["name"] == "alpha@host")
    }

    @Test("scheduled lists the delayed set with eta, queue and request info; total counts beyond the limit")
    func scheduledListsDelayed() throws {
        let h = try ControlHarness()
        let broker = Broker(connection: h.connection, keys: h.keys, nodeID: "alpha-101-aa01")
        let due = try h.redisTime() + 60_000
        var draft = CeleryMessage.Draft(task: "tasks.report", id: "eta-task-1", args: [1, "x"], kwargs: ["k": true], queue: "reports")
        draft.priority = 5
        let messages = [
            OutgoingMessage(destinationKey: h.keys.queue("reports", priority: 5), envelope: draft.encodedEnvelope(deliveryTag: "tag-1"),
                            dueMilliseconds: due, tag: "tag-1"),
            OutgoingMessage(destinationKey: h.keys.queue("celery"), envelope: Array("not a celery message".utf8),
                            dueMilliseconds: due + 1_000, tag: "tag-2"),
            OutgoingMessage(destinationKey: h.keys.queue("celery"),
                            envelope: CeleryMessage.Draft(task: "tasks.later", id: "eta-task-3").encodedEnvelope(deliveryTag: "tag-3"),
                            dueMilliseconds: due + 2_000, tag: "tag-3"),
        ]
        let enqueued: Result<Int, BrokerError> = try h.wait("enqueue") { broker.enqueue(messages, $0) }
        _ = try enqueued.get()
        #expect(try h.redis("ZCARD", h.keys.delayed).int == 3)

        let document = try Self.inspect(h, .scheduled)
        let delayed = try #require(document["delayed"]?.objectValue)
        #expect(delayed["total"] == 3)
        let entries = try #require(delayed["entries"]?.arrayValue)
        #expect(entries.count == 3)
        let first = try #require(entries.first?.objectValue)
        let eta = try Timestamp.parse(try #require(first["eta"]?.stringValue))
        #expect(abs(eta - Double(due) / 1000) < 0.001)
        #expect(first["queue"] == "reports")
        #expect(first["priority"] == 5)
        let request = try #require(first["request"]?.objectValue)
        #expect(request["id"] == "eta-task-1")
        #expect(request["name"] == "tasks.report")
        #expect(request["args"] == [1, "x"])
        #expect(request["kwargs"] == ["k": true])
        #expect(request["time_start"] == .null)
        #expect(request["delivery_info"]?["routing_key"] == "reports")
        #expect(entries[1]["request"] == .null)  // undecodable: listed, without request info
        #expect(entries[1]["queue"] == "celery")
        #expect(entries[2]["request"]?["id"] == "eta-task-3")

        let limited = try Self.inspect(h, .scheduled) { $0.delayedLimit = 2 }
        #expect(limited["delayed"]?["total"] == 3)
        #expect(limited["delayed"]?["entries"]?.arrayValue?.count == 2)
    }

    @Test("A delayed Celery message is listed with the request info a Python worker shows for it")
    func scheduledRequestLikeCelery() throws {
        // What w2@capture answered to `inspect scheduled` for capapp.add(4, 5, z=None), countdown 120, priority 5.
        let captured = try FanoutEnvelope.decode(CapturedFixture.bytes("reply_scheduled")).body
        let python = try #require(captured["w2@capture"]?[0]?.objectValue)
        let h = try ControlHarness()
        let broker = Broker(connection: h.connection, keys: h.keys, nodeID: "n-1-a")
        var draft = CeleryMessage.Draft(task: "capapp.add", id: "88888888-8888-4888-8888-888888888888", args: [4, 5],
                                        kwargs: ["z": nil], queue: "celery")
        draft.priority = 5
        let due = try h.redisTime() + 120_000
        let message = OutgoingMessage(destinationKey: h.keys.queue("celery", priority: 5),
                                      envelope: draft.encodedEnvelope(deliveryTag: "t"), dueMilliseconds: due, tag: "t")
        _ = try (try h.wait("enqueue") { broker.enqueue([message], $0) } as Result<Int, BrokerError>).get()
        let document = try Self.inspect(h, .scheduled)
        let entry = try #require(document["delayed"]?["entries"]?[0]?.objectValue)
        #expect(entry.keys.filter { python[$0] == nil } == ["queue"])  // Caraway adds the queue
        #expect(Set(python.keys).isSubset(of: Set(entry.keys)))
        // The eta has Python's isoformat shape.
        let pythonEta = try #require(python["eta"]?.stringValue)
        let eta = try #require(entry["eta"]?.stringValue)
        #expect(eta.count == pythonEta.count && eta.hasSuffix("+00:00"))
        // The request is Python's, except that no node holds it yet (hostname "").
        var request = try #require(entry["request"]?.objectValue)
        #expect(request["hostname"] == "")
        request["hostname"] = "w2@capture"
        #expect(.object(request) == python["request"])
    }

    @Test("publish() after stop() does not bring the snapshot back")
    func publishAfterStop() throws {
        let h = try ControlHarness()
        let alpha = Self.publisher(h, id: "alpha-101-aa01", name: "alpha@host", intervalMilliseconds: 600_000)
        alpha.start()
        try h.run("a snapshot written") { alpha.written >= 1 }
        try Self.stop(h, alpha)
        alpha.publish()  // e.g. the node's onRegistered racing its shutdown
        try h.redis("PING")  // a publish, if sent, ran before this on the same connection
        let exists = try h.redis("EXISTS", h.control.snapshot(node: "alpha-101-aa01")).int
        let listed = Self.nodes(try Self.inspect(h, .ping)).count
        #expect(exists == 0)
        #expect(listed == 0)
    }

    @Test("An unexpected snapshot_read reply yields no nodes instead of trapping")
    func malformedReadReply() {
        for value: RedisValue in [.null, .integer(3), .array([]), .array([.integer(1), .null, .null]),
                                  .array([.integer(1), .array([.bulk(Array("id".utf8))]), .null]),
                                  .array([.bulk(Array("x".utf8)), .array([]), .array([])])] {
            #expect(ClusterInspector.nodes(from: value, what: .ping, staleAfter: 1).nodes.isEmpty)
        }
        // A snapshot that is not a JSON object reads as missing.
        let junk: RedisValue = .array([.integer(10_000), .array([.bulk(Array("a-1-f".utf8)), .bulk(Array("9000".utf8)),
                                                                .bulk(Array("not json".utf8))]), .array([])])
        let view = ClusterInspector.nodes(from: junk, what: .ping, staleAfter: 5)
        #expect(view.nodes.map(\.status) == ["missing"])
        #expect(view.nodes.first?.age == 1)
    }

    @Test("revoked lists the ids with a future expiry only, for every answering node")
    func revokedListsLiveIDs() throws {
        let h = try ControlHarness()
        let alpha = Self.publisher(h, id: "alpha-101-aa01", name: "alpha@host")
        alpha.start()
        try h.run("a snapshot written") { alpha.written >= 1 }
        let now = try h.redisTime()
        try h.redis("ZADD", h.keys.revoked, String(now + 60_000), "live-1", String(now + 120_000), "live-2",
                    String(now - 1_000), "expired-1")
        try h.redis("ZADD", h.keys.nodes, String(now + 60_000), "gamma-303-cc03")
        let document = try Self.inspect(h, .revoked)
        #expect(document["revoked"] == ["live-1", "live-2"])
        let nodes = Self.nodes(document)
        #expect(nodes.map { $0["status"] } == ["ok", "missing"])
        #expect(nodes[0]["reply"] == ["live-1", "live-2"])
        #expect(nodes[1]["reply"] == .null)
        try Self.stop(h, alpha)
    }

    @Test("With a key prefix, snapshots, index, leases and revocations are read under it")
    func keyPrefix() throws {
        let h = try ControlHarness(prefix: "pfx:")
        #expect(h.control.snapshot(node: "n-1-a") == "pfx:caraway:inspect:n-1-a")
        #expect(h.control.snapshotIndex == "pfx:caraway:inspect-index")
        let alpha = Self.publisher(h, id: "alpha-101-aa01", name: "alpha@host")
        alpha.start()
        try h.run("a snapshot written") { alpha.written >= 1 }
        #expect(try h.redis("EXISTS", "pfx:caraway:inspect:alpha-101-aa01").int == 1)
        #expect(try h.redis("EXISTS", "caraway:inspect:alpha-101-aa01").int == 0)
        let now = try h.redisTime()
        try h.redis("ZADD", "pfx:caraway:nodes", String(now + 60_000), "gamma-303-cc03")
        try h.redis("ZADD", "caraway:nodes", String(now + 60_000), "unprefixed-1-a")
        try h.redis("ZADD", "pfx:caraway:revoked", String(now + 60_000), "r-1")
        let document = try Self.inspect(h, .revoked)
        #expect(Self.nodes(document).map { $0["node_id"] } == ["alpha-101-aa01", "gamma-303-cc03"])
        #expect(document["revoked"] == ["r-1"])
        try Self.stop(h, alpha)
    }

    @Test("Node names come from node ids <name>-<pid>-<hex>, dashes in the name kept")
    func namesFromNodeIDs() {
        #expect(ClusterInspector.name(fromNodeID: "alpha-101-aa01") == "alpha")
        #expect(ClusterInspector.name(fromNodeID: "beta-node-202-bb02") == "beta-node")
        #expect(ClusterInspector.name(fromNodeID: "my-long-node-name@host-1-3f") == "my-long-node-name@host")
        #expect(ClusterInspector.name(fromNodeID: "-1-a") == "")
        #expect(ClusterInspector.name(fromNodeID: "two-parts") == "two-parts")
        #expect(ClusterInspector.name(fromNodeID: "plain") == "plain")
        #expect(ClusterInspector.name(fromNodeID: "") == "")
    }

    @Test("InspectTarget: Celery's command names; revoked is not snapshotted")
    func inspectTargets() {
        #expect(InspectTarget.activeQueues.rawValue == "active_queues")
        #expect(InspectTarget(rawValue: "ping") == .ping)
        #expect(!InspectTarget.snapshotted.contains(.revoked))
        #expect(InspectTarget.snapshotted.count == InspectTarget.allCases.count - 1)
    }
}
