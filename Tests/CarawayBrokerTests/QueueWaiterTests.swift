import CarawayBroker
import Testing

struct QueueWaiterTests {
    static let q0 = priorityKey("q", 0), q3 = priorityKey("q", 3)

    @Test func anLPUSHFromAnotherConnectionWhileArmedFiresOnDataAndTakesNothing() throws {
        let h = try BrokerHarness()
        let waiter = QueueWaiter(loop: h.loop, endpoint: h.endpoint, keys: [Self.q0, Self.q3], logger: h.logger)
        defer { waiter.close() }
        var fired = 0
        waiter.onData = { fired += 1 }
        waiter.arm()
        waiter.connect()
        try h.poll("both watchers to block in BLMOVE", "INFO", "clients") { BrokerHarness.blockedClients($0) == 2 }
        #expect(fired == 0)
        try h.redis("LPUSH", Self.q3, "m1", "m2")
        try h.run("onData after the LPUSH") { fired >= 1 }
        #expect(try h.redis("LLEN", Self.q3).int == 2)
        #expect(try h.snapshot() == BrokerState(queues: [Self.q3: ["m2", "m1"]]))
    }

    @Test func armingOnAListThatAlreadyHasDataFiresAtOnce() throws {
        let h = try BrokerHarness()
        try h.seed(BrokerState(queues: [Self.q0: ["m1"]]))
        let waiter = QueueWaiter(loop: h.loop, endpoint: h.endpoint, keys: [Self.q0], logger: h.logger)
        defer { waiter.close() }
        var fired = 0
        waiter.onData = { fired += 1 }
        waiter.connect()
        waiter.arm()
        try h.run("onData for the waiting message") { fired >= 1 }
        #expect(try h.snapshot() == BrokerState(queues: [Self.q0: ["m1"]]))
    }

    @Test func aWaitThatTimesOutIsRenewedAndStillSeesALaterPush() throws {
        let h = try BrokerHarness()
        let waiter = QueueWaiter(loop: h.loop, endpoint: h.endpoint, keys: [Self.q0], logger: h.logger)
        defer { waiter.close() }
        waiter.blockSeconds = 1
        var fired = 0
        waiter.onData = { fired += 1 }
        waiter.arm()
        waiter.connect()
        // The second BLMOVE call is the renewal after the first one timed out empty.
        try h.poll("a renewed BLMOVE", seconds: 4, "INFO", "commandstats") {
            ($0.string ?? "").contains("cmdstat_blmove:calls=2,")
        }
        try h.poll("the renewed watcher to block", "INFO", "clients") { BrokerHarness.blockedClients($0) == 1 }
        #expect(fired == 0)
        try h.redis("LPUSH", Self.q0, "m1")
        try h.run("onData after the LPUSH") { fired >= 1 }
        #expect(try h.snapshot() == BrokerState(queues: [Self.q0: ["m1"]]))
    }
}
