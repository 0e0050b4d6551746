import CarawayBroker
import CarawayControl
import Testing

@Suite("LamportClock")
struct LamportClockTests {
    @Test("tick advances by one and returns the new value")
    func tick() {
        let clock = LamportClock()
        #expect(clock.value == 0)
        #expect(clock.tick() == 1)
        #expect(clock.tick() == 2)
        #expect(clock.value == 2)
    }

    @Test("witness moves to max(local, seen) + 1, as kombu's adjust_clock")
    func witness() {
        let clock = LamportClock()
        clock.witness(10)
        #expect(clock.value == 11)
        clock.witness(3)  // older than ours: still a local event
        #expect(clock.value == 12)
        clock.witness(12)
        #expect(clock.value == 13)
        #expect(clock.tick() == 14)
        clock.witness(0)
        #expect(clock.value == 15)
    }

    @Test("A clock near Int.max saturates instead of trapping")
    func hugeClockDoesNotTrap() async {
        // The clock comes from the network (a pidbox request's headers.clock); Python's ints never overflow.
        await #expect(processExitsWith: .success) {
            let clock = LamportClock()
            clock.witness(Int.max)
            clock.tick()
        }
    }

    @Test("Interleaved witness and tick never go backwards")
    func monotonic() {
        let clock = LamportClock()
        var last = 0
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<1_000 {
            if Bool.random(using: &rng) {
                clock.witness(Int.random(in: 0...2_000, using: &rng))
            } else {
                clock.tick()
            }
            #expect(clock.value > last)
            last = clock.value
        }
    }
}

@Suite("ControlKeys")
struct ControlKeysTests {
    @Test("Channels follow kombu's fanout naming: P + /{db}. + exchange [/ routing key]")
    func channels() {
        let plain = ControlKeys(keys: RedisKeys(), database: 0)
        #expect(plain.pidboxChannel == "/0.celery.pidbox")
        #expect(plain.eventChannel("worker.heartbeat") == "/0.celeryev/worker.heartbeat")
        #expect(plain.eventChannel("task.multi") == "/0.celeryev/task.multi")
        #expect(plain.eventPattern == "/0.celeryev/*")
        #expect(plain.replyBindings == "_kombu.binding.reply.celery.pidbox")

        let prefixed = ControlKeys(keys: RedisKeys(prefix: "pfx:"), database: 3)
        #expect(prefixed.pidboxChannel == "pfx:/3.celery.pidbox")
        #expect(prefixed.eventChannel("worker.online") == "pfx:/3.celeryev/worker.online")
        #expect(prefixed.eventPattern == "pfx:/3.celeryev/*")
        #expect(prefixed.replyBindings == "pfx:_kombu.binding.reply.celery.pidbox")
    }

    @Test("Caraway's own keys sit under P + caraway:")
    func keys() {
        let prefixed = ControlKeys(keys: RedisKeys(prefix: "pfx:"), database: 3)
        #expect(prefixed.snapshot(node: "n-1-a") == "pfx:caraway:inspect:n-1-a")
        #expect(prefixed.snapshotPrefix == "pfx:caraway:inspect:")
        #expect(prefixed.snapshotIndex == "pfx:caraway:inspect-index")
        #expect(prefixed.revoked == "pfx:caraway:revoked")
        #expect(prefixed.revoked == prefixed.keys.revoked)
        #expect(ControlKeys(keys: RedisKeys(), database: 0).snapshot(node: "x") == "caraway:inspect:x")
    }
}
