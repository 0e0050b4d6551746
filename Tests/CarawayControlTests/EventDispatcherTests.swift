import CarawayLoop
import CarawayProtocol
import CarawayRedis
import Testing

@testable import CarawayControl

#if canImport(Glibc)
import Glibc
#endif

/// Celery's event stream from a node, as `celery events` / Flower receive it (PSUBSCRIBE).
@Suite("EventDispatcher on real Redis")
struct EventDispatcherTests {
    struct World {
        let h: ControlHarness
        let recorder: PatternRecorder
        let dispatcher: EventDispatcher
        let clock: LamportClock
    }

    static func world(prefix: String = "", frequency: Double = 60, taskEvents: Bool = false) throws -> World {
        let h = try ControlHarness(prefix: prefix)
        let recorder = try PatternRecorder(h, pattern: h.control.eventPattern, sentinelChannel: h.control.eventChannel("sentinel"))
        let clock = LamportClock()
        let dispatcher = EventDispatcher(loop: h.loop, connection: h.connection, keys: h.control, hostname: "caraway@test",
                                         clock: clock, version: "1.2.3", frequency: frequency, taskEvents: taskEvents,
                                         logger: h.logger)
        dispatcher.workerState = { .init(active: 2, processed: 7) }
        return World(h: h, recorder: recorder, dispatcher: dispatcher, clock: clock)
    }

    /// One decoded message: its channel, envelope and events.
    struct Received {
        let channel: String
        let envelope: JSONObject
        let events: [CeleryEvent]
        var event: CeleryEvent { events[0] }
    }

    static func decode(_ messages: [PatternRecorder.Message]) throws -> [Received] {
        try messages.map { message in
            Received(channel: message.channel, envelope: try #require(JSON.parse(message.payload).objectValue),
                     events: try CeleryEvent.decode(message.payload))
        }
    }

    @Test("start sends worker-online with Celery's worker fields on /0.celeryev/worker.online")
    func workerOnline() throws {
        let w = try Self.world()
        let started = SystemTime.now()
        w.dispatcher.start()
        let online = try #require(try Self.decode(w.recorder.await(1)).first)
        #expect(online.channel == "/0.celeryev/worker.online")
        #expect(online.events.count == 1)
        let fields = online.event.fields
        #expect(fields["type"] == "worker-online")
        #expect(fields["hostname"] == "caraway@test")
        #expect(fields["pid"] == JSON(Int(getpid())))
        #expect(fields["clock"] == 1)
        #expect(fields["freq"] == 60.0)
        #expect(fields["active"] == 2 && fields["processed"] == 7)
        #expect(fields["sw_ident"] == "caraway" && fields["sw_ver"] == "1.2.3" && fields["sw_sys"] == "Linux")
        #expect(fields["loadavg"]?.arrayValue?.count == 3)
        #expect(fields["utcoffset"] == JSON(EventDispatcher.utcoffset))
        let timestamp = try #require(fields["timestamp"]?.doubleValue)
        #expect(abs(timestamp - started) < 5)
        #expect(online.envelope["headers"] == ["hostname": "caraway@test"])
        #expect(online.envelope["properties"]?["delivery_info"] == ["exchange": "celeryev", "routing_key": "worker.online"])
        #expect(online.envelope["properties"]?["delivery_tag"]?.stringValue?.isEmpty == false)
        #expect(w.dispatcher.published == 1)
        w.dispatcher.stop()
    }

    @Test("heartbeatNow sends a worker-heartbeat at once; the clock keeps ticking")
    func heartbeatNow() throws {
        let w = try Self.world()
        w.dispatcher.start()
        _ = try w.recorder.await(1)
        w.dispatcher.workerState = { .init(active: 0, processed: 9) }
        w.dispatcher.heartbeatNow()
        let messages = try Self.decode(w.recorder.await(2))
        let heartbeat = messages[1]
        #expect(heartbeat.channel == "/0.celeryev/worker.heartbeat")
        #expect(heartbeat.event.type == "worker-heartbeat")
        #expect(heartbeat.event.fields["clock"] == 2)
        #expect(heartbeat.event.fields["processed"] == 9)
        #expect(heartbeat.envelope["properties"]?["delivery_info"]?["routing_key"] == "worker.heartbeat")
        w.dispatcher.stop()
    }

    @Test("The heartbeat timer sends worker-heartbeat every freq seconds, until stop")
    func periodicHeartbeat() throws {
        let w = try Self.world(frequency: 0.05)
        w.dispatcher.start()
        let messages = try Self.decode(Array(w.recorder.await(3, seconds: 3).prefix(3)))
        #expect(messages.map(\.event.type) == ["worker-online", "worker-heartbeat", "worker-heartbeat"])
        #expect(messages[1].event.fields["freq"] == 0.05)
        w.dispatcher.stop()
        let atStop = try w.recorder.drain(after: w.h.connection).count
        try w.h.elapse(0.15)
        let after = try Self.decode(w.recorder.drain(after: w.h.connection))
        #expect(after.count == atStop)
        #expect(after.last?.event.type == "worker-offline")
    }

    @Test("Task events are sent only while taskEventsEnabled")
    func taskEventsOnlyWhenEnabled() throws {
        let w = try Self.world(taskEvents: false)
        w.dispatcher.task("task-received", uuid: "u-0", fields: ["name": "tasks.add"])
        try w.h.elapse(0.05)  // past the 20 ms batching window
        #expect(try w.recorder.drain(after: w.h.connection).isEmpty)
        #expect(w.clock.value == 0)  // nothing was stamped either

        w.dispatcher.taskEventsEnabled = true
        w.dispatcher.task("task-started", uuid: "u-1")
        let messages = try Self.decode(w.recorder.await(1))
        #expect(messages.map(\.channel) == ["/0.celeryev/task.multi"])
        #expect(messages[0].events.map { $0.fields["uuid"] } == ["u-1"])

        w.dispatcher.taskEventsEnabled = false
        w.dispatcher.task("task-succeeded", uuid: "u-1", fields: ["result": "'ok'"])
        try w.h.elapse(0.05)
        #expect(try w.recorder.drain(after: w.h.connection).count == 1)
    }

    @Test("Three quick task events travel as one task.multi message with a list of three")
    func taskEventsBatched() throws {
        let w = try Self.world(taskEvents: true)
        w.dispatcher.task("task-received", uuid: "u-1", fields: ["name": "tasks.add", "args": "(1, 2)", "kwargs": "{}",
                                                                 "root_id": "u-1", "parent_id": nil, "retries": 0,
                                                                 "eta": nil, "expires": nil])
        w.dispatcher.task("task-started", uuid: "u-1")
        w.dispatcher.task("task-succeeded", uuid: "u-1", fields: ["result": "3", "runtime": 0.002])
        let messages = try Self.decode(w.recorder.await(1))
        try w.h.elapse(0.05)
        #expect(try w.recorder.drain(after: w.h.connection).count == 1)
        let batch = messages[0]
        #expect(batch.channel == "/0.celeryev/task.multi")
        #expect(batch.envelope["properties"]?["delivery_info"] == ["exchange": "celeryev", "routing_key": "task.multi"])
        #expect(batch.envelope["headers"] == ["hostname": "caraway@test"])
        #expect(batch.events.map(\.type) == ["task-received", "task-started", "task-succeeded"])
        #expect(batch.events.allSatisfy { $0.fields["uuid"] == "u-1" && $0.fields["hostname"] == "caraway@test" })
        #expect(batch.events.map { $0.fields["clock"] } == [1, 2, 3])
        #expect(batch.events[0].fields["name"] == "tasks.add")
        #expect(batch.events[0].fields["parent_id"] == .null)
        #expect(batch.events[2].fields["runtime"] == 0.002)
        #expect(batch.events.allSatisfy { $0.fields["timestamp"]?.doubleValue != nil && $0.fields["pid"] == JSON(Int(getpid())) })
        #expect(w.dispatcher.published == 1)
    }

    @Test("A burst is cut into batches of 100")
    func burstBatches() throws {
        let w = try Self.world(taskEvents: true)
        for i in 0..<250 { w.dispatcher.task("task-started", uuid: "u-\(i)") }
        let messages = try Self.decode(w.recorder.await(3))
        #expect(messages.map(\.events.count) == [100, 100, 50])
        #expect(messages.flatMap(\.events).map { $0.fields["uuid"]?.stringValue } == (0..<250).map { "u-\($0)" })
    }

    @Test("stop flushes pending task events, then sends worker-offline")
    func stopSendsOffline() throws {
        let w = try Self.world(taskEvents: true)
        w.dispatcher.start()
        _ = try w.recorder.await(1)
        w.dispatcher.task("task-started", uuid: "u-1")
        w.dispatcher.task("task-succeeded", uuid: "u-1", fields: ["result": "None", "runtime": 0.1])
        w.dispatcher.stop()  // before the 20 ms batching timer fires
        let messages = try Self.decode(w.recorder.await(3))
        #expect(messages.map(\.channel) == ["/0.celeryev/worker.online", "/0.celeryev/task.multi", "/0.celeryev/worker.offline"])
        #expect(messages[1].events.count == 2)
        let offline = messages[2].event
        #expect(offline.type == "worker-offline")
        #expect(offline.fields["freq"] == 60.0 && offline.fields["sw_ident"] == "caraway")
        #expect(offline.fields["clock"] == 4)
        try w.h.elapse(0.05)
        #expect(try w.recorder.drain(after: w.h.connection).count == 3)
    }

    @Test("With a key prefix the event channels carry it")
    func keyPrefix() throws {
        let w = try Self.world(prefix: "pfx:")
        #expect(w.h.control.eventPattern == "pfx:/0.celeryev/*")
        w.dispatcher.start()
        let messages = try w.recorder.await(1)
        #expect(messages.map(\.channel) == ["pfx:/0.celeryev/worker.online"])
        w.dispatcher.stop()
    }

    @Test("Without a ready connection events are dropped and counted, not queued")
    func droppedWhenDisconnected() throws {
        let h = try ControlHarness()
        let offline = RedisConnection(loop: h.loop, endpoint: h.endpoint, name: "never-connected", logger: h.logger)
        let dispatcher = EventDispatcher(loop: h.loop, connection: offline, keys: h.control, hostname: "caraway@test",
                                         clock: LamportClock(), version: "1", taskEvents: true, logger: h.logger)
        dispatcher.heartbeatNow()
        dispatcher.task("task-started", uuid: "u-1")
        try h.elapse(0.05)
        #expect(dispatcher.published == 0)
        #expect(dispatcher.dropped == 2)
        offline.close()
    }

    @Test("utcoffset is Celery 5.7's time.timezone / 3600 (hours west of UTC) for this process's zone")
    func utcoffset() {
        var now = time(nil)
        var local = tm()
        localtime_r(&now, &local)
        let west = -Int(local.tm_gmtoff)  // Python's time.timezone (or altzone under DST)
        let python = Double(west) / 3600  // celery/utils/time.py utcoffset() in 5.7: true division
        // Fractional-hour zones (UTC+5:30, +5:45, -3:30 ...) keep their fraction, as in Celery 5.7.
        #expect(EventDispatcher.utcoffset == python)
    }
}
