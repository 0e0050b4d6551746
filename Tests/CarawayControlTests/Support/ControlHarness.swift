import CarawayBroker
import CarawayControl
import CarawayLoop
import CarawayProtocol
import CarawayRedis
import CarawayTestSupport
import Logging
import Testing

/// A test's own world: a private redis-server, a libuv loop, one ready connection, the broker
/// key layout and the control-plane names on top of it.
///
/// Everything runs on the calling thread: `run` drives the loop by hand until a condition holds
/// or a deadline passes, so tests never sleep for a fixed time (except `elapse`, which stands
/// for wall time passing, e.g. a snapshot going stale).
final class ControlHarness {
    let server: TestRedisServer
    let loop: EventLoop
    let endpoint: RedisEndpoint
    let connection: RedisConnection
    let keys: RedisKeys
    let control: ControlKeys
    let logger = Logger(label: "caraway.test") { _ in SwiftLogNoOpLogHandler() }
    private var subscribers: [RedisSubscriber] = []

    struct TimedOut: Error, CustomStringConvertible {
        let what: String
        let seconds: Double
        var description: String { "timed out after \(seconds) s waiting for \(what)" }
    }

    init(prefix: String = "") throws {
        server = try TestRedisServer()
        loop = try EventLoop()
        endpoint = try RedisEndpoint.parse(server.url)
        keys = RedisKeys(prefix: prefix)
        control = ControlKeys(keys: keys, database: 0)
        connection = RedisConnection(loop: loop, endpoint: endpoint, name: "harness", logger: logger)
        var ready = false
        connection.onReady = { ready = true }
        connection.connect()
        try run("the harness connection to be ready") { ready }
    }

    deinit {
        for subscriber in subscribers { subscriber.close() }
        connection.close()
        server.stop()
    }

    /// A second connection (a node's own), ready.
    func newConnection(_ name: String) throws -> RedisConnection {
        let other = RedisConnection(loop: loop, endpoint: endpoint, name: name, logger: logger)
        var ready = false
        other.onReady = { ready = true }
        other.connect()
        try run("connection \(name) to be ready") { ready }
        return other
    }

    /// A subscriber connection, closed with the harness.
    func newSubscriber(_ name: String) -> RedisSubscriber {
        let subscriber = RedisSubscriber(loop: loop, endpoint: endpoint, name: name, logger: logger)
        subscribers.append(subscriber)
        return subscriber
    }

    /// Runs the loop until `done` holds; throws `TimedOut` naming `what` after `seconds`.
    func run(_ what: String, seconds: Double = 5, until done: () -> Bool) throws {
        let deadline = EventLoop.hrtime + UInt64(seconds * 1e9)
        let tick = LoopTimer(loop: loop)
        tick.start(after: 5, repeat: 5) {}
        defer { tick.close() }
        while !done() {
            if EventLoop.hrtime >= deadline { throw TimedOut(what: what, seconds: seconds) }
            loop.runOnce(block: true)
        }
    }

    /// Runs the loop for `seconds` of wall time (timers keep firing meanwhile).
    func elapse(_ seconds: Double) throws {
        let end = EventLoop.hrtime + UInt64(seconds * 1e9)
        try run("\(seconds) s to pass", seconds: seconds + 5) { EventLoop.hrtime >= end }
    }

    /// Starts an asynchronous operation and runs the loop until its completion fires.
    func wait<T>(_ what: String, seconds: Double = 5, _ start: (@escaping (T) -> Void) -> Void) throws -> T {
        var outcome: T?
        start { outcome = $0 }
        try run(what, seconds: seconds) { outcome != nil }
        return outcome!
    }

    @discardableResult
    func redis(_ arguments: String...) throws -> RedisValue { try redis(arguments) }

    @discardableResult
    func redis(_ arguments: [String]) throws -> RedisValue {
        let result: Result<RedisValue, RedisError> = try wait(arguments.joined(separator: " ")) { done in
            connection.send(arguments, done)
        }
        return try result.get()
    }

    /// A command with binary arguments (envelopes, kombu's `\x06\x16` separators).
    @discardableResult
    func redis(bytes arguments: [[UInt8]]) throws -> RedisValue {
        let result: Result<RedisValue, RedisError> = try wait("a binary command") { done in
            connection.send(bytes: arguments, done)
        }
        return try result.get()
    }

    /// Redis's clock in milliseconds (what the scripts read with TIME).
    func redisTime() throws -> Int64 {
        let parts = try redis("TIME").array ?? []
        guard parts.count == 2, let seconds = parts[0].int, let micros = parts[1].int else {
            throw TimedOut(what: "a TIME reply", seconds: 0)
        }
        return seconds * 1000 + micros / 1000
    }

    /// Runs the loop until `command`'s reply satisfies `condition` (polling Redis, not sleeping).
    func poll(_ what: String, seconds: Double = 5, _ command: [String], until condition: @escaping (RedisValue) -> Bool) throws {
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

    /// Waits until Redis reports a subscriber on `channel` (onReady fires when SUBSCRIBE is sent,
    /// not when it took effect).
    func awaitSubscription(_ channel: String) throws {
        try poll("a subscriber on \(channel)", ["PUBSUB", "NUMSUB", channel]) { ($0.array?.last?.int ?? 0) >= 1 }
    }

    /// Waits until Redis reports at least `count` pattern subscriptions.
    func awaitPatterns(_ count: Int = 1) throws {
        try poll("\(count) pattern subscription(s)", ["PUBSUB", "NUMPAT"]) { ($0.int ?? 0) >= Int64(count) }
    }
}

/// Records what is published on the channels matching one pattern (PSUBSCRIBE), as a monitor
/// such as Flower or `celery events` sees it.
///
/// Absence is proved without waiting out a timer: `drain(after:)` publishes a sentinel on
/// `sentinelChannel` (which must match the pattern) and waits for it. Redis delivers to one
/// subscriber in publish order, and commands on one connection run in order, so a sentinel sent
/// on the connection the code under test publishes on arrives after everything it sent before.
final class PatternRecorder {
    struct Message {
        let channel: String
        let payload: [UInt8]
    }

    private let harness: ControlHarness
    private let sentinelChannel: String
    private(set) var received: [Message] = []
    private var sentinels = 0
    static let sentinel = "--caraway-test-sentinel--"

    init(_ harness: ControlHarness, pattern: String, sentinelChannel: String) throws {
        self.harness = harness
        self.sentinelChannel = sentinelChannel
        let subscriber = harness.newSubscriber("recorder")
        subscriber.psubscribe(pattern) { [weak self] channel, payload in
            guard let self else { return }
            if String(decoding: payload, as: UTF8.self) == Self.sentinel { self.sentinels += 1 } else {
                self.received.append(Message(channel: channel, payload: payload))
            }
        }
        subscriber.connect()
        try harness.awaitPatterns()
    }

    /// Everything published so far, once a sentinel sent after it on `connection` came back.
    ///
    /// Pass the connection the code under test publishes on: commands on one connection run in
    /// order, so the sentinel's PUBLISH runs after every PUBLISH queued before it.
    func drain(after connection: RedisConnection? = nil) throws -> [Message] {
        let expected = sentinels + 1
        let via = connection ?? harness.connection
        var sent = false
        via.send(["PUBLISH", sentinelChannel, Self.sentinel]) { _ in sent = true }
        try harness.run("the sentinel on \(sentinelChannel)") { sent && sentinels >= expected }
        return received
    }

    /// Runs the loop until `count` messages arrived.
    func await(_ count: Int, seconds: Double = 5) throws -> [Message] {
        try harness.run("\(count) message(s) (have \(received.count))", seconds: seconds) { received.count >= count }
        return received
    }
}
