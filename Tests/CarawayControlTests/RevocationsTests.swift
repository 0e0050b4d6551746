import CarawayBroker
import CarawayControl
import CarawayProtocol
import CarawayRedis
import Testing

/// Durable revokes (`caraway:revoked`) and the revoke broadcast, on real Redis.
@Suite("Revocations on real Redis")
struct RevocationsTests {
    static func revocations(_ h: ControlHarness, refreshMilliseconds: UInt64 = 2_000) -> Revocations {
        Revocations(loop: h.loop, broker: Broker(connection: h.connection, keys: h.keys, nodeID: "node-1-a"), keys: h.control,
                    refreshMilliseconds: refreshMilliseconds, logger: h.logger)
    }

    @Test("revoke() is visible locally at once and durably in caraway:revoked, with REVOKED results")
    func revokeWritesRedis() throws {
        let h = try ControlHarness()
        let revocations = Self.revocations(h)
        var outcome: Result<Int, BrokerError>?
        revocations.revoke(["r-1", "r-2"], resultTTLSeconds: 60) { outcome = $0 }
        // Before Redis answered: the local copy already refuses the ids.
        #expect(revocations.contains("r-1") && revocations.contains("r-2"))
        #expect(!revocations.contains("r-3"))
        try h.run("the revoke to complete") { outcome != nil }
        #expect(try outcome?.get() == 2)

        let now = try h.redisTime()
        for id in ["r-1", "r-2"] {
            let score = try #require(try h.redis("ZSCORE", "caraway:revoked", id).string.flatMap(Double.init))
            // Default lifetime: one day from now.
            #expect(score > Double(now) + 86_000_000 && score <= Double(now) + 86_400_000 + 1_000)
            let record = try #require(try h.redis("GET", "celery-task-meta-" + id).bytes)
            let parsed = try JSON.parse(record)
            #expect(parsed["status"] == "REVOKED")
            #expect(parsed["task_id"] == .string(id))
            let ttl = try #require(try h.redis("TTL", "celery-task-meta-" + id).int)
            #expect(ttl > 0 && ttl <= 60)
        }
        // Revoking again adds nothing new.
        let again: Result<Int, BrokerError> = try h.wait("the second revoke") { revocations.revoke(["r-1"], resultTTLSeconds: 60, $0) }
        #expect(try again.get() == 0)
    }

    @Test("The static revoke works without a running node (CLI, REST)")
    func staticRevoke() throws {
        let h = try ControlHarness()
        let broker = Broker(connection: h.connection, keys: h.keys, nodeID: "cli")
        let result: Result<Int, BrokerError> = try h.wait("revoke") {
            Revocations.revoke(broker: broker, taskIDs: ["s-1"], ttlSeconds: 30, resultTTLSeconds: 0, now: 1_700_000_000, $0)
        }
        #expect(try result.get() == 1)
        let now = try h.redisTime()
        let score = try #require(try h.redis("ZSCORE", "caraway:revoked", "s-1").string.flatMap(Double.init))
        #expect(score > Double(now) && score <= Double(now) + 31_000)
        #expect(try h.redis("TTL", "celery-task-meta-s-1").int == -1)  // result TTL 0 = kept
        let record = try JSON.parse(try #require(try h.redis("GET", "celery-task-meta-s-1").bytes))
        #expect(record["date_done"]?.stringValue?.hasPrefix("2023-11-14T22:13:20") == true)
    }

    @Test("refresh() replaces the local copy with the live entries: expired ones are dropped")
    func refreshDropsExpired() throws {
        let h = try ControlHarness()
        let revocations = Self.revocations(h)
        let now = try h.redisTime()
        try h.redis("ZADD", "caraway:revoked", String(now - 1_000), "old", String(now + 60_000), "live")
        revocations.remember(["old"])
        #expect(revocations.contains("old"))
        revocations.refresh()
        try h.run("the refresh") { revocations.contains("live") }
        #expect(!revocations.contains("old"))
        #expect(revocations.ids == ["live"])
    }

    @Test("start() refreshes at once and then periodically; stop() ends it")
    func periodicRefresh() throws {
        let h = try ControlHarness()
        let revocations = Self.revocations(h, refreshMilliseconds: 50)
        let now = try h.redisTime()
        try h.redis("ZADD", "caraway:revoked", String(now + 60_000), "first")
        revocations.start()
        try h.run("the first refresh") { revocations.contains("first") }
        try h.redis("ZADD", "caraway:revoked", String(now + 60_000), "second")
        try h.run("a later refresh") { revocations.contains("second") }
        revocations.stop()
        try h.redis("ZADD", "caraway:revoked", String(now + 60_000), "third")
        try h.elapse(0.15)
        #expect(!revocations.contains("third"))
    }

    @Test("refresh() without a ready connection leaves the local copy alone")
    func refreshWhileDisconnected() throws {
        let h = try ControlHarness()
        let offline = RedisConnection(loop: h.loop, endpoint: h.endpoint, name: "never-connected", logger: h.logger)
        let revocations = Revocations(loop: h.loop, broker: Broker(connection: offline, keys: h.keys, nodeID: "n"), keys: h.control,
                                      logger: h.logger)
        revocations.remember(["kept"])
        revocations.refresh()
        try h.elapse(0.02)
        #expect(revocations.contains("kept"))
        offline.close()
    }

    @Test("broadcast() publishes Celery's revoke cast: task_id list, terminate and signal")
    func broadcastIsACeleryRevoke() throws {
        let h = try ControlHarness()
        let channel = h.control.pidboxChannel
        let recorder = try PatternRecorder(h, pattern: channel, sentinelChannel: channel)
        let published: Result<RedisValue, RedisError> = try h.wait("the broadcast") { done in
            Revocations.broadcast(on: h.connection, keys: h.control, taskIDs: ["a", "b"], terminate: true, signal: "SIGKILL", done)
        }
        #expect(try published.get().int == 1)  // one subscriber: the recorder
        let message = try #require(try recorder.await(1).first)
        #expect(message.channel == "/0.celery.pidbox")
        let request = try ControlRequest.decode(message.payload)
        #expect(request.method == "revoke")
        #expect(request.arguments["task_id"] == ["a", "b"])
        #expect(request.arguments["terminate"] == true)
        #expect(request.arguments["signal"] == "SIGKILL")
        #expect(request.ticket == nil && !request.wantsReply)
        #expect(request.destination == nil)
        #expect(request.isAddressed(to: "any@node"))
        let envelope = try #require(try JSON.parse(message.payload).objectValue)
        #expect(envelope["properties"]?["delivery_info"] == ["exchange": "celery.pidbox", "routing_key": ""])
    }

    @Test("A Pidbox receives the broadcast, runs it, and sends no reply")
    func broadcastReachesPidboxes() throws {
        let h = try ControlHarness(prefix: "pfx:")
        let pidbox = Pidbox(connection: h.connection, keys: h.control, nodeName: "n@h", clock: LamportClock(), logger: h.logger)
        var seen: [ControlRequest] = []
        pidbox.handler = { request, reply in
            seen.append(request)
            reply(ControlReply.ok("flagged"))
        }
        let subscriber = h.newSubscriber("pidbox")
        pidbox.attach(to: subscriber)
        subscriber.connect()
        try h.awaitSubscription("pfx:/0.celery.pidbox")
        let published: Result<RedisValue, RedisError> = try h.wait("the broadcast") { done in
            Revocations.broadcast(on: h.connection, keys: h.control, taskIDs: ["x"], terminate: false, signal: "SIGTERM", done)
        }
        #expect(try published.get().int == 1)
        try h.run("the pidbox to see the revoke") { !seen.isEmpty }
        #expect(seen.first?.arguments == ["task_id": ["x"], "terminate": false, "signal": "SIGTERM"])
        #expect(try h.redis("KEYS", "*reply*").array?.isEmpty == true)
    }
}
