import Testing
import Logging
import CarawayLoop
import CarawayRedis
import CarawayTestSupport
@testable import CarawayBeat

/// Elections against a real Redis: one leader, growing epochs, fast step-down, no renewal of a
/// lock that is not ours.
@Suite(.serialized) struct ElectorTests {
    final class Harness {
        let server: TestRedisServer
        let loop: EventLoop
        var connections: [RedisConnection] = []

        init() throws {
            server = try TestRedisServer()
            loop = try EventLoop()
        }

        func connection() throws -> RedisConnection {
            let c = RedisConnection(loop: loop, endpoint: try RedisEndpoint.parse(server.url), name: "c\(connections.count)", logger: Logger(label: "test"))
            connections.append(c)
            c.connect()
            return c
        }

        func run(seconds: Double, until done: () -> Bool) -> Bool {
            let deadline = EventLoop.hrtime + UInt64(seconds * 1e9)
            let tick = LoopTimer(loop: loop)
            tick.start(after: 5, repeat: 5) {}
            defer { tick.close() }
            while !done() {
                if EventLoop.hrtime > deadline { return false }
                loop.runOnce(block: true)
            }
            return true
        }
    }

    @Test func exactlyOneOfThreeCandidatesLeadsAndEpochsGrowAcrossTerms() throws {
        let h = try Harness()
        var electors: [Elector] = []
        var elected: [Int64] = []
        for _ in 0..<3 {
            let e = Elector(loop: h.loop, connection: try h.connection(), ttlMilliseconds: 600, marginMilliseconds: 100, logger: Logger(label: "test"))
            e.onElected = { elected.append($0.epoch) }
            electors.append(e)
        }
        for e in electors { e.start() }
        #expect(h.run(seconds: 5) { !elected.isEmpty })
        _ = h.run(seconds: 0.5) { false }
        #expect(electors.filter(\.isLeader).count == 1)
        #expect(elected.count == 1, "renewals must not start new terms")
        let leader = electors.first(where: \.isLeader)!
        var stopped = false
        leader.stop { stopped = true }
        #expect(h.run(seconds: 5) { stopped && elected.count == 2 })
        #expect(elected[1] > elected[0])
        #expect(electors.filter(\.isLeader).count == 1)
        for e in electors { e.stop() }
    }

    @Test func aLeaderWhoseLockWasTakenStepsDownAtOnce() throws {
        let h = try Harness()
        let conn = try h.connection()
        let e = Elector(loop: h.loop, connection: conn, ttlMilliseconds: 900, marginMilliseconds: 100, logger: Logger(label: "test"))
        var lost = false
        e.onLost = { _ in lost = true }
        e.start()
        #expect(h.run(seconds: 5) { e.isLeader })
        // Someone else's term overwrites the lock (as after our lease expired during a pause).
        var overwritten = false
        conn.send(["SET", "caraway:beat:lock", "999:intruder"]) { _ in overwritten = true }
        #expect(h.run(seconds: 5) { overwritten && lost })
        #expect(!e.isLeader)
        var value: String?
        conn.send(["GET", "caraway:beat:lock"]) { value = try? $0.get().string }
        #expect(h.run(seconds: 2) { value != nil })
        #expect(value == "999:intruder", "a renew must never extend another term's lock")
        e.stop()
    }

    @Test func aLeaderCutOffFromRedisStopsWhenItsTrustWindowEnds() throws {
        let h = try Harness()
        let e = Elector(loop: h.loop, connection: try h.connection(), ttlMilliseconds: 600, marginMilliseconds: 100, logger: Logger(label: "test"))
        var lostAt: UInt64 = 0
        e.onLost = { _ in lostAt = EventLoop.hrtime }
        e.start()
        #expect(h.run(seconds: 5) { e.isLeader })
        h.server.pause()
        let pausedAt = EventLoop.hrtime
        #expect(h.run(seconds: 5) { lostAt != 0 })
        h.server.resume()
        let after = Double(lostAt - pausedAt) / 1e6
        #expect(after <= 650, "stepped down \(after) ms after Redis went silent; the TTL is 600 ms")
        e.stop()
    }

    @Test func theTrustWindowCountsFromTheSendTimeMinusTheMargin() {
        var term = LeadershipTerm(epoch: 1, lockValue: "1:x", sentAt: 1_000, ttlMilliseconds: 10_000, marginMilliseconds: 500)
        #expect(term.remaining(at: 1_000) == 9_500)
        #expect(term.remaining(at: 10_500) == 0)
        term.renewed(sentAt: 4_000, ttlMilliseconds: 10_000, marginMilliseconds: 500)
        #expect(term.remaining(at: 10_500) == 3_000)
        // An older renew reply never shortens the window.
        term.renewed(sentAt: 2_000, ttlMilliseconds: 10_000, marginMilliseconds: 500)
        #expect(term.remaining(at: 10_500) == 3_000)
    }
}
