import Testing
@testable import CarawayLoop

@Suite struct LoopTimerTests {
    @Test func aOneShotTimerFiresOnceAndLetsTheLoopExit() throws {
        let loop = try EventLoop()
        var fired = 0
        LoopTimer.once(loop: loop, after: 5) { fired += 1 }
        loop.run()
        #expect(fired == 1)
    }

    @Test func aRepeatingTimerFiresUntilClosed() throws {
        let loop = try EventLoop()
        var fired = 0
        let timer = LoopTimer(loop: loop)
        timer.start(after: 1, repeat: 1) {
            fired += 1
            if fired == 3 { timer.close() }
        }
        loop.run()
        #expect(fired == 3)
        #expect(timer.isClosed)
    }
}
