import CHiredis
import CUV
import CarawayLoop
import Logging

/// One asynchronous connection to Redis over hiredis, driven by the node's libuv loop.
///
/// - Commands are pipelined: `send` writes at once and the reply arrives in order.
/// - Every completion fires exactly once, on the loop thread.
/// - The connection reconnects by itself with exponential backoff and jitter; `onReady` runs after
///   each (re)connect, once AUTH/SELECT are queued, so owners can re-arm blocking commands or
///   reconcile state. Commands sent while down fail at once with `.notConnected`.
/// - A command without a reply within its timeout resets the connection (a pipelined connection
///   cannot drop one command), so every pending command fails with `.timeout` or `.connectionLost`.
public final class RedisConnection {
    public enum State: Sendable { case idle, connecting, ready, backingOff, closed }

    // Fixed at construction.
    public let endpoint: RedisEndpoint
    /// `endpoint` as text, made once: errors name it, and formatting it per command showed up
    /// in the node's profile (docs/performance.md).
    let endpointDescription: String
    public let name: String
    let loop: EventLoop
    let logger: Logger
    /// Default command timeout in milliseconds (0 = none).
    public var commandTimeout: UInt64
    /// How long a connect attempt may take before it is abandoned and retried (0 = no limit).
    /// A second line of defence: a connect that neither completes nor fails (a black-holed SYN,
    /// a proxy that accepts and never answers, or a lost poll error as in chaos bug 1) would
    /// otherwise leave the connection `connecting` for good.
    public var connectTimeout: UInt64 = 3_000

    // Loop-confined state.
    public private(set) var state: State = .idle
    var context: UnsafeMutablePointer<redisAsyncContext>?
    var pending = Deque<PendingCommand>()
    private var timeoutTimer: LoopTimer?
    private var backoffTimer: LoopTimer?
    private var connectTimer: LoopTimer?
    private var backoffMilliseconds: UInt64 = 0
    private var abortReason: RedisError?
    var scriptSHAs: [String: [UInt8]] = [:]
    /// How many times the connection came back after a loss (for metrics and logs).
    public private(set) var reconnects = 0
    private var everConnected = false
    /// Connect attempts abandoned after ``connectTimeout``.
    public private(set) var connectTimeouts = 0

    /// Runs after each successful (re)connect.
    public var onReady: (() -> Void)?
    /// Runs when an established connection is lost (not on failed connect attempts).
    public var onDisconnect: ((RedisError) -> Void)?

    public init(loop: EventLoop, endpoint: RedisEndpoint, name: String, logger: Logger, commandTimeout: UInt64 = 5_000) {
        self.loop = loop
        self.endpoint = endpoint
        self.endpointDescription = "\(endpoint)"
        self.name = name
        self.logger = logger
        self.commandTimeout = commandTimeout
    }

    public var isReady: Bool { state == .ready }

    /// Starts connecting (no-op if already connecting or ready).
    public func connect() {
        guard state == .idle || state == .backingOff else { return }
        state = .connecting
        guard let ac = redisAsyncConnect(endpoint.host, Int32(endpoint.port)) else {
            scheduleReconnect(reason: "out of memory")
            return
        }
        if ac.pointee.err != 0 {
            let reason = String(cString: ac.pointee.errstr)
            redisAsyncFree(ac)
            scheduleReconnect(reason: reason)
            return
        }
        context = ac
        // The context holds a strong reference until the disconnect callback releases it.
        ac.pointee.data = Unmanaged.passRetained(self).toOpaque()
        carawayLibuvAttach(ac, loop.raw)
        redisAsyncSetConnectCallback(ac) { ac, status in
            guard let ac, let data = ac.pointee.data else { return }
            let conn = Unmanaged<RedisConnection>.fromOpaque(data).takeUnretainedValue()
            if status == REDIS_OK {
                conn.didConnect()
            } else {
                // hiredis frees the context after a failed connect without calling onDisconnect.
                let reason = ac.pointee.errstr.map { String(cString: $0) } ?? "connect failed"
                UnsafeMutablePointer(mutating: ac).pointee.data = nil
                conn.context = nil
                conn.scheduleReconnect(reason: reason)
                Unmanaged<RedisConnection>.fromOpaque(data).release()
            }
        }
        redisAsyncSetDisconnectCallback(ac) { ac, status in
            guard let ac, let data = ac.pointee.data else { return }
            UnsafeMutablePointer(mutating: ac).pointee.data = nil
            let conn = Unmanaged<RedisConnection>.fromOpaque(data).takeRetainedValue()
            let reason = ac.pointee.errstr.map { String(cString: $0) } ?? ""
            conn.didDisconnect(reason: status == REDIS_OK ? "closed" : (reason.isEmpty ? "connection error" : reason))
        }
        armConnectTimer(for: ac)
    }

    private func armConnectTimer(for ac: UnsafeMutablePointer<redisAsyncContext>) {
        guard connectTimeout > 0 else { return }
        if connectTimer == nil { connectTimer = LoopTimer(loop: loop) }
        connectTimer?.start(after: connectTimeout) { [weak self] in
            guard let self, self.state == .connecting, self.context == ac else { return }
            self.abandonConnect(ac)
        }
        connectTimer?.setKeepsLoopAlive(false)
    }

    /// Frees a context still connecting. Its data is cleared first, so neither hiredis callback
    /// runs for it; the reference the context held is released here instead.
    private func abandonConnect(_ ac: UnsafeMutablePointer<redisAsyncContext>) {
        let data = ac.pointee.data
        ac.pointee.data = nil
        context = nil
        redisAsyncFree(ac)
        if let data { Unmanaged<RedisConnection>.fromOpaque(data).release() }
        connectTimeouts += 1
        logger.warning("redis.connect_timeout", metadata: ["redis.connection": "\(name)", "redis.endpoint": "\(endpoint)",
                                                         "timeout_ms": "\(connectTimeout)"])
        scheduleReconnect(reason: "connect timed out after \(connectTimeout) ms")
    }

    private func didConnect() {
        connectTimer?.stop()
        state = .ready
        backoffMilliseconds = 0
        if everConnected {
            reconnects += 1
            logger.info("redis.reconnected", metadata: ["redis.connection": "\(name)", "redis.endpoint": "\(endpoint)"])
        } else {
            logger.debug("redis.connected", metadata: ["redis.connection": "\(name)", "redis.endpoint": "\(endpoint)"])
        }
        everConnected = true
        scriptSHAs.removeAll()
        if let password = endpoint.password {
            var args = ["AUTH"]
            if let user = endpoint.username { args.append(user) }
            args.append(password)
            send(args) { [logger, name] result in
                if case .failure(let e) = result { logger.error("redis.auth_failed", metadata: ["redis.connection": "\(name)", "error": "\(e)"]) }
            }
        }
        if endpoint.database != 0 { send(["SELECT", String(endpoint.database)]) { _ in } }
        startTimeoutTimer()
        onReady?()
    }

    private func didDisconnect(reason: String) {
        context = nil
        let wasReady = state == .ready
        // hiredis has already failed every pending callback with a NULL reply.
        if state == .closed { return }
        let error = abortReason ?? .connectionLost(endpoint: "\(endpoint)", reason: reason)
        abortReason = nil
        logger.warning("redis.disconnected", metadata: ["redis.connection": "\(name)", "redis.endpoint": "\(endpoint)", "reason": "\(error)"])
        scheduleReconnect(reason: reason)
        if wasReady { onDisconnect?(error) }
    }

    private func scheduleReconnect(reason: String) {
        guard state != .closed else { return }
        state = .backingOff
        timeoutTimer?.stop()
        backoffMilliseconds = backoffMilliseconds == 0 ? 50 : min(backoffMilliseconds * 2, 2_000)
        let jitter = UInt64.random(in: 0...(backoffMilliseconds / 4 + 1))
        logger.debug("redis.reconnect_scheduled", metadata: ["redis.connection": "\(name)", "reason": "\(reason)", "delay_ms": "\(backoffMilliseconds + jitter)"])
        if backoffTimer == nil { backoffTimer = LoopTimer(loop: loop) }
        backoffTimer?.start(after: backoffMilliseconds + jitter) { [weak self] in self?.connect() }
    }

    private func startTimeoutTimer() {
        if timeoutTimer == nil { timeoutTimer = LoopTimer(loop: loop) }
        timeoutTimer?.start(after: 50, repeat: 50) { [weak self] in self?.checkTimeouts() }
        timeoutTimer?.setKeepsLoopAlive(false)
    }

    private func checkTimeouts() {
        guard let oldest = pending.first, oldest.deadline != 0 else { return }
        let now = EventLoop.hrtime / 1_000_000
        if now >= oldest.deadline {
            logger.warning("redis.command_timeout", metadata: ["redis.connection": "\(name)", "timeout_ms": "\(oldest.timeout)"])
            abort(.timeout(endpoint: "\(endpoint)", milliseconds: oldest.timeout))
        }
    }

    /// Drops the connection at once: every pending command fails with `reason`; then reconnects.
    public func abort(_ reason: RedisError? = nil) {
        guard let ac = context else { return }
        abortReason = reason
        for command in pending { command.failure = reason }
        redisAsyncFree(ac)
    }

    /// Closes for good: pending commands fail, no reconnect.
    public func close() {
        let wasConnected = context != nil
        if state == .connecting, let ac = context, let data = ac.pointee.data {
            // hiredis calls no callback when freeing a context that never connected.
            ac.pointee.data = nil
            Unmanaged<RedisConnection>.fromOpaque(data).release()
        }
        state = .closed
        backoffTimer?.close()
        timeoutTimer?.close()
        connectTimer?.close()
        backoffTimer = nil
        timeoutTimer = nil
        connectTimer = nil
        if wasConnected, let ac = context {
            context = nil
            redisAsyncFree(ac)
        }
    }

    /// Sends one command. `timeout` overrides the connection default (milliseconds, 0 = none).
    /// The completion fires exactly once on the loop thread.
    public func send(_ arguments: [String], timeout: UInt64? = nil, _ completion: @escaping (Result<RedisValue, RedisError>) -> Void) {
        send(bytes: arguments.map { Array($0.utf8) }, timeout: timeout, completion)
    }

    /// Sends one command whose arguments are raw bytes.
    public func send(bytes arguments: [[UInt8]], timeout: UInt64? = nil, _ completion: @escaping (Result<RedisValue, RedisError>) -> Void) {
        send(groups: [arguments], timeout: timeout, completion)
    }

    /// Sends one command whose arguments are `groups` one after another (not joined first).
    func send(groups: [[[UInt8]]], timeout: UInt64? = nil, _ completion: @escaping (Result<RedisValue, RedisError>) -> Void) {
        guard state == .ready, let ac = context else {
            completion(.failure(.notConnected(endpoint: endpointDescription)))
            return
        }
        let limit = timeout ?? commandTimeout
        let command = PendingCommand(completion: completion, timeout: limit,
                                     deadline: limit == 0 ? 0 : EventLoop.hrtime / 1_000_000 + limit,
                                     endpoint: endpointDescription)
        let status = RESP.withTerminatedCommand(groups: groups) { text, length in
            redisAsyncFormattedCommand(ac, { ac, reply, privdata in
                guard let privdata else { return }
                let command = Unmanaged<PendingCommand>.fromOpaque(privdata).takeRetainedValue()
                if let ac, let data = ac.pointee.data {
                    Unmanaged<RedisConnection>.fromOpaque(data).takeUnretainedValue().completed(command)
                } else {
                    command.owner?.completed(command)
                }
                command.finish(reply: reply?.assumingMemoryBound(to: redisReply.self))
            }, Unmanaged.passRetained(command).toOpaque(), text, length)
        }
        if status != REDIS_OK {
            Unmanaged.passUnretained(command).release()
            completion(.failure(.connectionLost(endpoint: endpointDescription, reason: "command rejected by hiredis")))
            return
        }
        command.owner = self
        pending.append(command)
    }

    fileprivate func completed(_ command: PendingCommand) {
        loop.noteIOEvent()
        if let first = pending.first, first === command {
            _ = pending.popFirst()
        } else if let index = pending.firstIndex(where: { $0 === command }) {
            pending.remove(at: index)
        }
    }

    deinit {
        if let ac = context { redisAsyncFree(ac) }
    }
}

/// One command awaiting its reply; retained by hiredis's privdata until the callback.
final class PendingCommand {
    let completion: (Result<RedisValue, RedisError>) -> Void
    let timeout: UInt64
    let deadline: UInt64
    let endpoint: String
    var failure: RedisError?
    weak var owner: RedisConnection?

    init(completion: @escaping (Result<RedisValue, RedisError>) -> Void, timeout: UInt64, deadline: UInt64, endpoint: String) {
        self.completion = completion
        self.timeout = timeout
        self.deadline = deadline
        self.endpoint = endpoint
    }

    func finish(reply: UnsafePointer<redisReply>?) {
        guard let reply else {
            completion(.failure(failure ?? .connectionLost(endpoint: endpoint, reason: "connection closed before the reply")))
            return
        }
        let value = RedisValue(reply: reply)
        if case .error(let message) = value {
            completion(.failure(.server(message)))
        } else {
            completion(.success(value))
        }
    }
}
