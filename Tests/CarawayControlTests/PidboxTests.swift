import CarawayBroker
import CarawayLoop
import CarawayProtocol
import CarawayRedis
import Logging
import Testing

@testable import CarawayControl

/// A node's pidbox on a real Redis, driven the way Celery's client drives it (spec §5).
@Suite("Pidbox: Celery remote control on real Redis")
struct PidboxTests {
    /// A pidbox for `name` on its own subscriber, answering ping and recording every request.
    final class Node {
        let pidbox: Pidbox
        let clock = LamportClock()
        var seen: [ControlRequest] = []

        init(_ h: ControlHarness, name: String = "caraway@test") throws {
            pidbox = Pidbox(connection: h.connection, keys: h.control, nodeName: name, clock: clock, logger: h.logger)
            pidbox.handler = { [unowned self] request, reply in
                self.seen.append(request)
                switch request.method {
                case "ping": reply(ControlReply.ok("pong"))
                case "revoke": reply(ControlReply.ok("revoked"))  // answered, but only a call gets it
                case "heartbeat": reply(nil)
                default: reply(ControlReply.error("unknown command '\(request.method)'"))
                }
            }
            let subscriber = h.newSubscriber("pidbox-\(name)")
            pidbox.attach(to: subscriber)
            subscriber.connect()
            try h.awaitSubscription(h.control.pidboxChannel)
        }
    }

    @Test("A ping call gets {node: {ok: pong}} LPUSHed to the client's reply queue with its ticket")
    func answersPing() throws {
        let h = try ControlHarness()
        let node = try Node(h)
        let client = CeleryClient(h)
        try client.declareReplyQueue()
        let ticket = try client.call("ping", clock: 41)
        let replies = try client.awaitReplies(1)
        #expect(replies.count == 1)
        let reply = try #require(replies.first)
        #expect(reply.body == ["caraway@test": ["ok": "pong"]])
        #expect(reply.ticket == ticket)
        // The clock moved past the request's (41 → 42) and ticked for the reply (43).
        #expect(reply.headers["clock"] == 43)
        #expect(node.clock.value == 43)
        #expect(reply.properties["delivery_info"] == ["exchange": "reply.celery.pidbox", "routing_key": .string(client.oid)])
        #expect(reply.properties["body_encoding"] == "base64")
        #expect(reply.properties["delivery_tag"]?.stringValue?.isEmpty == false)
        #expect(reply.envelope["content-type"] == "application/json")
        #expect(node.pidbox.handled == 1)
        #expect(node.pidbox.malformed == 0)
    }

    @Test("The exact bytes `celery inspect ping` published are answered")
    func answersCapturedCeleryRequest() throws {
        let h = try ControlHarness()
        let node = try Node(h)
        let raw = try CapturedFixture.bytes("request_inspect_ping")
        let request = try ControlRequest.decode(raw)
        let client = CeleryClient(h, oid: try #require(request.replyRoutingKey))
        try client.declareReplyQueue()
        #expect(try client.publish(raw) == 1)
        let reply = try #require(try client.awaitReplies(1).first)
        #expect(reply.ticket == request.ticket)
        #expect(reply.body == ["caraway@test": ["ok": "pong"]])
        #expect(node.seen.map(\.method) == ["ping"])
    }

    @Test("Casts (no ticket) run but get no reply, even with a reply_to")
    func castsGetNoReply() throws {
        let h = try ControlHarness()
        let node = try Node(h)
        let client = CeleryClient(h)
        try client.declareReplyQueue()
        // Celery's cast shape (app.control.revoke without reply=True).
        try client.publish(ControlRequest(method: "revoke", arguments: ["task_id": "t-1", "terminate": false, "signal": "SIGTERM"]).encoded())
        // A reply_to without a ticket is still a cast.
        let odd = FanoutEnvelope.encode(body: ["method": "revoke", "arguments": ["task_id": "t-2"],
                                               "reply_to": ["exchange": "reply.celery.pidbox", "routing_key": .string(client.oid)]],
                                        headers: ["clock": 1], exchange: "celery.pidbox", routingKey: "")
        try client.publish(odd)
        let ticket = try client.call("ping")
        let replies = try client.awaitReplies(1)
        #expect(replies.map(\.ticket) == [ticket])
        #expect(node.seen.map(\.method) == ["revoke", "revoke", "ping"])
        #expect(node.pidbox.handled == 3)
    }

    @Test("Requests for another destination or pattern are ignored; the clock still advances")
    func otherDestinationsIgnored() throws {
        let h = try ControlHarness()
        let node = try Node(h)
        let client = CeleryClient(h)
        try client.declareReplyQueue()
        try client.call("ping", destination: ["other@host"], clock: 500)
        try client.call("ping", pattern: "other@*", matcher: "glob")
        let mine = try client.call("ping", destination: ["other@host", "caraway@test"])
        let byPattern = try client.call("ping", pattern: "caraway@*", matcher: "glob")
        let replies = try client.awaitReplies(2)
        #expect(replies.map(\.ticket) == [mine, byPattern])
        #expect(node.seen.count == 2)
        #expect(node.pidbox.handled == 2)
        // kombu adjusts the clock before filtering: even the ignored request's clock counts.
        #expect(node.clock.value > 500)
    }

    @Test("A garbage payload is counted as malformed and the pidbox keeps answering")
    func garbageIsCounted() throws {
        let h = try ControlHarness()
        let node = try Node(h)
        let client = CeleryClient(h)
        try client.declareReplyQueue()
        try client.publish(Array("garbage".utf8))
        try client.publish(FanoutEnvelope.encode(body: ["arguments": [:]], headers: [:], exchange: "celery.pidbox", routingKey: ""))
        try client.publish(Array(#"{"body":"!!!","properties":{"body_encoding":"base64"}}"#.utf8))
        try client.publish([0xFF, 0x00, 0xC3])
        let ticket = try client.call("ping")
        let replies = try client.awaitReplies(1)
        #expect(replies.map(\.ticket) == [ticket])
        #expect(node.pidbox.malformed == 4)
        #expect(node.pidbox.handled == 1)
    }

    @Test("An unknown command is answered with Celery's {error: ...} shape")
    func unknownCommand() throws {
        let h = try ControlHarness()
        let node = try Node(h)  // held: the pidbox subscribes with a weak reference
        let client = CeleryClient(h)
        try client.declareReplyQueue()
        try client.call("no_such_command")
        let reply = try #require(try client.awaitReplies(1).first)
        #expect(reply.body["caraway@test"]?["error"] == "unknown command 'no_such_command'")
        #expect(node.pidbox.handled == 1)
    }

    @Test("Every node answers a broadcast call; each reply is keyed by its node name")
    func twoNodes() throws {
        let h = try ControlHarness()
        let a = try Node(h, name: "a@host")
        let b = try Node(h, name: "b@host")
        let client = CeleryClient(h)
        try client.declareReplyQueue()
        let ticket = try client.call("ping")
        let replies = try client.awaitReplies(2)
        #expect(Set(replies.compactMap { $0.body.objectValue?.keys.first }) == ["a@host", "b@host"])
        #expect(replies.allSatisfy { $0.ticket == ticket })
        #expect(a.pidbox.handled == 1 && b.pidbox.handled == 1)
    }

    @Test("Replies go to every queue bound with the routing key, and nowhere when the client left")
    func replyRouting() throws {
        let h = try ControlHarness()
        let node = try Node(h)
        let client = CeleryClient(h)
        try client.declareReplyQueue()
        try client.declareReplyQueue(queue: "second.reply.celery.pidbox")
        let other = CeleryClient(h)
        try other.declareReplyQueue()
        // A client that went away (binding removed): its reply must not recreate its queue.
        let gone = CeleryClient(h)
        try gone.call("ping")
        try client.call("ping")
        _ = try client.awaitReplies(1)
        _ = try client.awaitReplies(1, list: "second.reply.celery.pidbox")
        #expect(try h.redis("EXISTS", gone.replyList).int == 0)
        #expect(try h.redis("EXISTS", other.replyList).int == 0)
        #expect(try client.replies().count == 1)
        #expect(node.pidbox.handled == 2)
    }

    @Test("A key prefix applies to the pidbox channel, the binding set and the reply list")
    func keyPrefix() throws {
        let h = try ControlHarness(prefix: "pfx:")
        #expect(h.control.pidboxChannel == "pfx:/0.celery.pidbox")
        #expect(h.control.replyBindings == "pfx:_kombu.binding.reply.celery.pidbox")
        let node = try Node(h)
        // Nobody listens on the unprefixed channel.
        let request = ControlRequest(method: "ping", ticket: "t", replyRoutingKey: "x", replyExchange: "reply.celery.pidbox")
        #expect(try h.redis(bytes: [Array("PUBLISH".utf8), Array("/0.celery.pidbox".utf8), request.encoded()]).int == 0)
        let client = CeleryClient(h)
        try client.declareReplyQueue()
        #expect(try h.redis("SCARD", "pfx:_kombu.binding.reply.celery.pidbox").int == 1)
        let ticket = try client.call("ping")
        #expect(client.replyList == "pfx:" + client.oid + ".reply.celery.pidbox")
        let replies = try client.awaitReplies(1)
        #expect(replies.map(\.ticket) == [ticket])
        #expect(try h.redis("EXISTS", client.queueName).int == 0)
        #expect(node.pidbox.handled == 1)
    }

    @Test("A request whose clock is Int.max is survived (it comes from whoever can PUBLISH)")
    func hugeClockRequest() async {
        await #expect(processExitsWith: .success) {
            let loop = try! EventLoop()
            let logger = Logger(label: "t") { _ in SwiftLogNoOpLogHandler() }
            let connection = RedisConnection(loop: loop, endpoint: try! RedisEndpoint.parse("redis://127.0.0.1:1/0"),
                                             name: "unused", logger: logger)
            let pidbox = Pidbox(connection: connection, keys: ControlKeys(keys: RedisKeys(), database: 0), nodeName: "n@h",
                                clock: LamportClock(), logger: logger)
            pidbox.received(ControlRequest(method: "ping", clock: Int.max).encoded())
        }
    }

    @Test("A handler may answer later; the reply still reaches the client")
    func asynchronousHandler() throws {
        let h = try ControlHarness()
        let node = try Node(h)
        node.pidbox.handler = { [loop = h.loop] _, reply in
            LoopTimer.once(loop: loop, after: 30) { reply(["ok": "later"]) }
        }
        let client = CeleryClient(h)
        try client.declareReplyQueue()
        let ticket = try client.call("stats")
        let reply = try #require(try client.awaitReplies(1).first)
        #expect(reply.ticket == ticket)
        #expect(reply.body == ["caraway@test": ["ok": "later"]])
    }
}
