import ArgumentParser
import CCaraway
import CarawayBroker
import CarawayControl
import CarawayLoop
import CarawayRedis
import Logging

/// Options every Redis-only admin command shares.
struct RedisOptions: ParsableArguments {
    @Option(help: "Redis URL (env CARAWAY_REDIS_URL).") var redis: String?
    @Option(help: "kombu global_keyprefix (env CARAWAY_KEY_PREFIX).") var keyPrefix: String?

    func endpoint() throws -> RedisEndpoint {
        do { return try RedisEndpoint.parse(redis ?? env("REDIS_URL") ?? "redis://127.0.0.1:6379/0") } catch { throw ValidationError("\(error)") }
    }

    var keys: RedisKeys { RedisKeys(prefix: keyPrefix ?? env("KEY_PREFIX") ?? "") }
}

/// One short-lived loop and Redis connection for a CLI command: `body` runs once Redis is
/// ready; the command ends with `finish`, or with exit 69 when Redis is not reachable in time.
final class RedisSession {
    let loop: EventLoop
    let connection: RedisConnection
    let keys: RedisKeys
    let controlKeys: ControlKeys
    private(set) var exitCode: Int32 = 0
    private var finished = false
    private var extraClose: [() -> Void] = []

    init(options: RedisOptions) throws {
        let endpoint = try options.endpoint()
        loop = try EventLoop()
        var logger = Logger(label: "caraway.cli")
        logger.logLevel = .critical  // reconnect chatter would drown the command's output
        connection = RedisConnection(loop: loop, endpoint: endpoint, name: "cli", logger: logger)
        keys = options.keys
        controlKeys = ControlKeys(keys: keys, database: endpoint.database)
    }

    /// Runs until `finish`; `connectTimeout` bounds the wait for Redis.
    func run(connectTimeout: Double, _ body: @escaping (RedisSession) -> Void) -> Int32 {
        var started = false
        LoopTimer.once(loop: loop, after: UInt64(connectTimeout * 1000)) { [unowned self] in
            if !started { self.finish(69, error: "could not reach Redis at \(self.connection.endpoint) within \(connectTimeout) s") }
        }.setKeepsLoopAlive(false)
        connection.onReady = { [unowned self] in
            guard !started else { return }
            started = true
            body(self)
        }
        connection.connect()
        loop.run()
        return exitCode
    }

    /// Closes something more when the session ends (a subscriber).
    func closing(_ close: @escaping () -> Void) { extraClose.append(close) }

    func finish(_ code: Int32, error: String? = nil) {
        guard !finished else { return }
        finished = true
        if let error { fputs("caraway: \(error)\n", caraway_stderr()) }
        exitCode = code
        for close in extraClose { close() }
        connection.close()
        loop.closeAllHandles()
    }
}
