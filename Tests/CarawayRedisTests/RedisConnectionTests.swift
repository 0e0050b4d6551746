import Testing
import Glibc
import Logging
import CarawayLoop
import CarawayTestSupport
@testable import CarawayRedis

@Suite(.serialized) struct RedisConnectionTests {
    /// Runs the loop until `done` is set or the deadline passes.
    func run(_ loop: EventLoop, seconds: Double = 5, until done: () -> Bool) {
        let deadline = EventLoop.hrtime + UInt64(seconds * 1e9)
        let tick = LoopTimer(loop: loop)
        tick.start(after: 5, repeat: 5) {}
        while !done() && EventLoop.hrtime < deadline { loop.runOnce(block: true) }
        tick.close()
    }

    @Test func pipelinedCommandsReplyInOrder() throws {
        let server = try TestRedisServer()
        let loop = try EventLoop()
        let conn = RedisConnection(loop: loop, endpoint: try RedisEndpoint.parse(server.url), name: "test", logger: Logger(label: "test"))
        var replies: [Int64] = []
        conn.onReady = {
            for _ in 0..<100 { conn.send(["INCR", "counter"]) { if case .success(let v) = $0 { replies.append(v.int ?? -1) } } }
        }
        conn.connect()
        run(loop) { replies.count == 100 }
        #expect(replies == Array(1...100))
        conn.close()
    }

    @Test func scriptsRunWithEvalThenEvalsha() throws {
        let server = try TestRedisServer()
        let loop = try EventLoop()
        let conn = RedisConnection(loop: loop, endpoint: try RedisEndpoint.parse(server.url), name: "test", logger: Logger(label: "test"))
        let script = RedisScript(name: "double", source: "return tonumber(ARGV[1]) * 2")
        var results: [Int64] = []
        conn.onReady = {
            conn.evaluate(script, keys: [], arguments: [Array("21".utf8)]) { r in
                results.append((try? r.get().int) ?? -1)
                conn.evaluate(script, keys: [], arguments: [Array("5".utf8)]) { results.append((try? $0.get().int) ?? -1) }
            }
        }
        conn.connect()
        run(loop) { results.count == 2 }
        #expect(results == [42, 10])
        #expect(conn.scriptSHAs["double"] != nil)
        conn.close()
    }

    @Test func aCommandWithoutReplyTimesOutAndTheConnectionComesBack() throws {
        let server = try TestRedisServer()
        let loop = try EventLoop()
        let conn = RedisConnection(loop: loop, endpoint: try RedisEndpoint.parse(server.url), name: "test", logger: Logger(label: "test"), commandTimeout: 200)
        var outcome: Result<RedisValue, RedisError>?
        var readyCount = 0
        var afterReconnect: RedisValue?
        conn.onReady = {
            readyCount += 1
            if readyCount == 1 {
                conn.send(["BLPOP", "nothing-here", "2"]) { outcome = $0 }
            } else {
                conn.send(["PING"]) { afterReconnect = try? $0.get() }
            }
        }
        conn.connect()
        run(loop) { afterReconnect != nil }
        if case .failure(.timeout) = outcome {} else { Issue.record("expected timeout, got \(String(describing: outcome))") }
        #expect(afterReconnect == .simple("PONG"))
        conn.close()
    }

    @Test func commandsFailFastWhileDisconnected() throws {
        let loop = try EventLoop()
        let port = try TestRedisServer.freePort()
        let conn = RedisConnection(loop: loop, endpoint: RedisEndpoint(host: "127.0.0.1", port: port), name: "test", logger: Logger(label: "test"))
        conn.connect()
        var outcome: Result<RedisValue, RedisError>?
        conn.send(["PING"]) { outcome = $0 }
        if case .failure(.notConnected) = outcome {} else { Issue.record("expected notConnected") }
        conn.close()
    }

    /// A listener whose accept queue is full drops SYNs: a connect there neither completes nor fails.
    static func blackHole() throws -> (fd: Int32, port: Int, filler: Int32) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                guard bind(listener, sa, length) == 0, listen(listener, 0) == 0, getsockname(listener, sa, &length) == 0 else {
                    throw RedisError.notConnected(endpoint: "black hole")
                }
            }
        }
        let filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)  // fills the queue of one
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(filler, $0, length) } }
        return (listener, Int(UInt16(bigEndian: address.sin_port)), filler)
    }

    @Test(arguments: [UInt64(0), 200])
    func aConnectThatNeverCompletesIsAbandonedAndRetried(timeout: UInt64) throws {
        let hole = try Self.blackHole()
        defer { close(hole.filler); close(hole.fd) }
        let loop = try EventLoop()
        let conn = RedisConnection(loop: loop, endpoint: RedisEndpoint(host: "127.0.0.1", port: hole.port), name: "test", logger: Logger(label: "test"))
        conn.connectTimeout = timeout
        conn.connect()
        run(loop, seconds: 1.2) { false }
        if timeout == 0 {
            // Without the limit the attempt hangs: this is what the timeout is for.
            #expect(conn.state == .connecting)
            #expect(conn.connectTimeouts == 0)
        } else {
            #expect(conn.connectTimeouts >= 2)
            #expect(conn.state != .ready)
        }
        conn.close()
        #expect(conn.state == .closed)
    }

    @Test func subscriberReceivesPublishedMessages() throws {
        let server = try TestRedisServer()
        let loop = try EventLoop()
        let endpoint = try RedisEndpoint.parse(server.url)
        let sub = RedisSubscriber(loop: loop, endpoint: endpoint, name: "sub", logger: Logger(label: "test"))
        let pub = RedisConnection(loop: loop, endpoint: endpoint, name: "pub", logger: Logger(label: "test"))
        var received: [String] = []
        sub.subscribe("news") { received.append(String(decoding: $0, as: UTF8.self)) }
        sub.onReady = { pub.connect() }
        pub.onReady = {
            LoopTimer.once(loop: loop, after: 20) { pub.send(["PUBLISH", "news", "hello"]) { _ in } }
        }
        sub.connect()
        run(loop) { !received.isEmpty }
        #expect(received == ["hello"])
        sub.close()
        pub.close()
    }

    @Test func urlsParseWithPasswordPortAndDatabase() throws {
        let e = try RedisEndpoint.parse("redis://:s3cret@localhost:6380/2")
        #expect(e.host == "127.0.0.1" && e.port == 6380 && e.database == 2 && e.password == "s3cret")
        #expect(throws: RedisEndpoint.ParseError.self) { try RedisEndpoint.parse("http://x") }
        #expect(throws: RedisEndpoint.ParseError.self) { try RedisEndpoint.parse("redis://h:99999") }
    }
}
