import Testing
@testable import CarawayLoop

/// `EventLoop.run(busyPollingWhile:budget:)`: the same callbacks as `run()`, polling only while busy.
@Suite struct BusyPollTests {
    @Test func runsTimersAndExitsWhenNoHandleRemains() throws {
        let loop = try EventLoop()
        var fired = 0
        let timer = LoopTimer(loop: loop)
        timer.start(after: 1, repeat: 1) {
            fired += 1
            if fired == 5 { timer.close() }
        }
        loop.run(busyPollingWhile: { true }, budget: 200_000)
        #expect(fired == 5)
    }

    @Test func stopReturnsWhilePolling() throws {
        let loop = try EventLoop()
        let keepAlive = LoopTimer(loop: loop)
        keepAlive.start(after: 60_000) {}
        LoopTimer.once(loop: loop, after: 5) { loop.stop() }
        let started = EventLoop.hrtime
        loop.run(busyPollingWhile: { true }, budget: 10_000_000_000)
        #expect(EventLoop.hrtime - started < 5_000_000_000)
        keepAlive.close()
    }

    @Test func sleepsInsteadOfPollingWhenNotBusy() throws {
        let loop = try EventLoop()
        var checks = 0
        let timer = LoopTimer(loop: loop)
        var fired = 0
        timer.start(after: 20, repeat: 20) {
            fired += 1
            if fired == 3 { timer.close() }
        }
        loop.run(busyPollingWhile: { checks += 1; return false }, budget: 1_000_000_000)
        // One check per wake-up (about one per timer tick), not thousands of polls in 60 ms.
        #expect(fired == 3)
        #expect(checks < 50)
    }

    @Test func pollsAfterAWakeUpWhileBusy() throws {
        let loop = try EventLoop()
        var checks = 0
        LoopTimer.once(loop: loop, after: 1) {}
        let keepAlive = LoopTimer(loop: loop)
        keepAlive.start(after: 30) { keepAlive.close() }
        loop.run(busyPollingWhile: { checks += 1; return true }, budget: 5_000_000)
        // Each 5 ms budget spins through many non-blocking iterations.
        #expect(checks > 50)
    }
}
