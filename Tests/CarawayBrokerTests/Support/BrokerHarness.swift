import CarawayBroker
import CarawayLoop
import CarawayRedis
import CarawayTestSupport
import Logging
import Testing

/// A test's own world: a private redis-server, a libuv loop, one ready connection and the key layout.
///
/// Everything runs on the calling thread: `wait` and `run` drive the loop by hand until a signal
/// (a completion, a flag) arrives or a deadline passes, so tests never sleep for a fixed time.
final class BrokerHarness {
    let server: TestRedisServer
    let loop: EventLoop
    let endpoint: RedisEndpoint
    let connection: RedisConnection
    let keys: RedisKeys
    let logger = Logger(label: "caraway.test") { _ in SwiftLogNoOpLogHandler() }
    /// Redis's clock (ms) when the harness started; seeds and snapshots express every time relative to it.
    private(set) var anchor: Int64 = 0

    /// Why a wait gave up: names what it waited for, so a failure says more than "timed out".
    struct TimedOut: Error, CustomStringConvertible {
        let what: String
        let seconds: Double
        var description: String { "timed out after \(seconds) s waiting for \(what)" }
    }

    init(prefix: String = "", resultPrefix: String = "") throws {
        server = try TestRedisServer()
        loop = try EventLoop()
        endpoint = try RedisEndpoint.parse(server.url)
        keys = RedisKeys(prefix: prefix, resultPrefix: resultPrefix)
        connection = RedisConnection(loop: loop, endpoint: endpoint, name: "harness", logger: logger)
        var ready = false
        connection.onReady = { ready = true }
        connection.connect()
        try run("the harness connection to be ready") { ready }
        anchor = try redisTime()
    }

    deinit {
        connection.close()
        server.stop()
    }

    /// A broker for `node` on the harness connection.
    func broker(node: String = "me") -> Broker { Broker(connection: connection, keys: keys, nodeID: node) }

    /// Runs the loop until `done` holds; throws `TimedOut` naming `what` after `seconds`.
    func run(_ what: String, seconds: Double = 5, until done: () -> Bool) throws {
        let deadline = EventLoop.hrtime + UInt64(seconds * 1e9)
        // A short repeating timer keeps runOnce(block:) from blocking past the deadline.
        let tick = LoopTimer(loop: loop)
        tick.start(after: 5, repeat: 5) {}
        defer { tick.close() }
        while !done() {
            if EventLoop.hrtime >= deadline { throw TimedOut(what: what, seconds: seconds) }
            loop.runOnce(block: true)
        }
    }

    /// Starts an asynchronous operation and runs the loop until its completion fires.
    func wait<T>(_ what: String, seconds: Double = 5, _ start: (@escaping (T) -> Void) -> Void) throws -> T {
        var outcome: T?
        start { outcome = $0 }
        try run(what, seconds: seconds) { outcome != nil }
        return outcome!
    }

    /// Sends one command on the harness connection and returns its reply.
    @discardableResult
    func redis(_ arguments: String...) throws -> RedisValue {
        try redis(arguments)
    }

    @discardableResult
    func redis(_ arguments: [String]) throws -> RedisValue {
        let result: Result<RedisValue, RedisError> = try wait(arguments.joined(separator: " ")) { done in
            connection.send(arguments, done)
        }
        return try result.get()
    }

    /// Redis's own clock in milliseconds (what the scripts read with TIME).
    func redisTime() throws -> Int64 {
        let parts = try redis("TIME").array ?? []
        guard parts.count == 2, let seconds = parts[0].int, let micros = parts[1].int else {
            throw TimedOut(what: "a TIME reply", seconds: 0)
        }
        return seconds * 1000 + micros / 1000
    }

    /// Runs the loop until `command`'s integer reply satisfies `condition` (polling Redis, not sleeping).
    func poll(_ what: String, seconds: Double = 5, _ command: String..., until condition: @escaping (RedisValue) -> Bool) throws {
        var satisfied = false
        var inFlight = false
        try run(what, seconds: seconds) {
            if !satisfied && !inFlight {
                inFlight = true
                connection.send(command) { result in
                    inFlight = false
                    if case .success(let value) = result, condition(value) { satisfied = true }
                }
            }
            return satisfied
        }
    }

    /// How many clients are blocked in a command such as BLMOVE (from INFO clients).
    static func blockedClients(_ info: RedisValue) -> Int {
        guard let text = info.string else { return 0 }
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("blocked_clients:") {
            return Int(line.dropFirst("blocked_clients:".count)) ?? 0
        }
        return 0
    }
}
