import CarawayBroker
import CarawayLoop
import Testing

struct HeartbeaterTests {
    @Test func registersAtOnceThenRenewsMovingTheExpiryForward() throws {
        let h = try BrokerHarness()
        let heartbeater = Heartbeater(loop: h.loop, broker: h.broker(node: "me"), leaseMilliseconds: 300, logger: h.logger)
        var registrations = 0
        heartbeater.onRegistered = { registrations += 1 }
        heartbeater.start()
        try h.run("registration") { registrations == 1 }
        #expect(heartbeater.isRegistered)
        let first = try #require(heartbeater.lastBeat)
        #expect(try h.getNodes()["me"].map { $0 + h.anchor } ?? 0 >= first + 300)
        try h.run("a renewal") { (heartbeater.lastBeat ?? 0) > first }
        heartbeater.stop()
        // The heartbeater shares the harness connection: this reply comes after every beat sent so far.
        let expiry = try #require(try h.getNodes()["me"]) + h.anchor
        #expect(expiry == heartbeater.lastBeat! + 300)
        #expect(expiry > first + 300)
        #expect(registrations == 1)
    }

    @Test func aRenewThatFindsTheNodeGoneReportsLeaseLostAndReRegisters() throws {
        let h = try BrokerHarness()
        let heartbeater = Heartbeater(loop: h.loop, broker: h.broker(node: "me"), leaseMilliseconds: 300, logger: h.logger)
        var registrations = 0
        var lost = 0
        heartbeater.onRegistered = { registrations += 1 }
        heartbeater.onLeaseLost = { lost += 1 }
        heartbeater.start()
        try h.run("registration") { registrations == 1 }
        try h.redis("ZREM", h.keys.nodes, "me")  // what a recoverer does to a presumed-dead node
        try h.run("lease loss and re-registration") { lost == 1 && registrations == 2 }
        heartbeater.stop()
        try h.redis("PING")
        let expiry = try #require(try h.getNodes()["me"]) + h.anchor
        #expect(expiry == heartbeater.lastBeat! + 300)
        #expect(lost == 1)
    }

    @Test func aResyncThatKeepsTheLeaseReportsResyncedOnceAndNotRegistered() throws {
        let h = try BrokerHarness()
        let heartbeater = Heartbeater(loop: h.loop, broker: h.broker(node: "me"), leaseMilliseconds: 3000, logger: h.logger)
        var registrations = 0
        var resyncs = 0
        heartbeater.onRegistered = { registrations += 1 }
        heartbeater.onResynced = { resyncs += 1 }
        heartbeater.resync()  // the first connect: registering wins over resynced
        try h.run("registration") { registrations == 1 }
        #expect(resyncs == 0)
        heartbeater.resync()  // a reconnect that kept the lease
        try h.run("resync") { resyncs == 1 }
        heartbeater.beatNow()  // an ordinary beat reports nothing
        try h.redis("PING")  // same connection: its reply comes after the beat's
        #expect(resyncs == 1)
        #expect(registrations == 1)
    }

    @Test func aResyncThatFindsTheLeaseLostReportsRegisteredNotResynced() throws {
        let h = try BrokerHarness()
        let heartbeater = Heartbeater(loop: h.loop, broker: h.broker(node: "me"), leaseMilliseconds: 3000, logger: h.logger)
        var registrations = 0
        var resyncs = 0
        var lost = 0
        heartbeater.onRegistered = { registrations += 1 }
        heartbeater.onResynced = { resyncs += 1 }
        heartbeater.onLeaseLost = { lost += 1 }
        heartbeater.beatNow()
        try h.run("registration") { registrations == 1 }
        try h.redis("ZREM", h.keys.nodes, "me")
        heartbeater.resync()
        try h.run("re-registration") { registrations == 2 }
        #expect(lost == 1)
        #expect(resyncs == 0)
    }

    @Test func theLeaseIsHeldForALeaseFromTheBeatsSendTimeAndNotAfterItIsLost() throws {
        let h = try BrokerHarness()
        let heartbeater = Heartbeater(loop: h.loop, broker: h.broker(node: "me"), leaseMilliseconds: 300, logger: h.logger)
        #expect(!heartbeater.holdsLease)  // not registered yet
        var registrations = 0
        heartbeater.onRegistered = { registrations += 1 }
        let before = EventLoop.hrtime
        heartbeater.beatNow()
        try h.run("registration") { registrations == 1 }
        let after = EventLoop.hrtime
        #expect(heartbeater.holdsLease)
        // Counted from the send, so never later than the reply's arrival + lease.
        #expect(heartbeater.leaseHeldUntil >= before + 300_000_000)
        #expect(heartbeater.leaseHeldUntil <= after + 300_000_000)
        try h.run("the lease to lapse without beats", seconds: 2) { EventLoop.hrtime > heartbeater.leaseHeldUntil }
        #expect(!heartbeater.holdsLease)
        heartbeater.beatNow()
        try h.redis("PING")
        #expect(heartbeater.holdsLease)
        try h.redis("ZREM", h.keys.nodes, "me")
        var lost = 0
        heartbeater.onLeaseLost = { lost += 1; #expect(!heartbeater.holdsLease) }
        heartbeater.beatNow()
        try h.run("lease loss and re-registration") { lost == 1 && registrations == 2 }
        #expect(heartbeater.holdsLease)
    }
}
