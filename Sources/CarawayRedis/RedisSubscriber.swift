import CHiredis
import CarawayLoop
import Logging

/// A connection in Redis pub/sub mode: receives messages on channels and patterns.
///
/// Subscriptions are re-issued after every reconnect. Handlers fire on the loop thread for
/// each message: `(channel, payload)`. Messages published while disconnected are lost (pub/sub
/// has no persistence), which is why nothing in Caraway's task path depends on them.
public final class RedisSubscriber {
    private let connection: RedisConnection
    private var channels: [String: ([UInt8]) -> Void] = [:]
    private var patterns: [String: (String, [UInt8]) -> Void] = [:]
    /// Runs after every (re)subscription, once SUBSCRIBE has been sent.
    public var onReady: (() -> Void)?

    public init(loop: EventLoop, endpoint: RedisEndpoint, name: String, logger: Logger) {
        connection = RedisConnection(loop: loop, endpoint: endpoint, name: name, logger: logger, commandTimeout: 0)
        connection.onReady = { [weak self] in self?.resubscribe() }
    }

    public func connect() { connection.connect() }
    public func close() { connection.close() }
    public var isReady: Bool { connection.isReady }

    public func subscribe(_ channel: String, _ handler: @escaping ([UInt8]) -> Void) {
        channels[channel] = handler
        if connection.isReady { issue(["SUBSCRIBE", channel]) }
    }

    public func unsubscribe(_ channel: String) {
        channels[channel] = nil
        if connection.isReady { issue(["UNSUBSCRIBE", channel]) }
    }

    public func psubscribe(_ pattern: String, _ handler: @escaping (String, [UInt8]) -> Void) {
        patterns[pattern] = handler
        if connection.isReady { issue(["PSUBSCRIBE", pattern]) }
    }

    private func resubscribe() {
        for channel in channels.keys { issue(["SUBSCRIBE", channel]) }
        for pattern in patterns.keys { issue(["PSUBSCRIBE", pattern]) }
        onReady?()
    }

    /// Subscribe-mode replies arrive many times per command, so they bypass the pending queue:
    /// privdata is the subscriber itself (unretained; the subscriber outlives its connection).
    private func issue(_ arguments: [String]) {
        guard let ac = connection.context else { return }
        _ = RESP.withTerminatedCommand(arguments.map { Array($0.utf8) }) { text, length in
            redisAsyncFormattedCommand(ac, { _, reply, privdata in
                guard let reply, let privdata else { return }
                let subscriber = Unmanaged<RedisSubscriber>.fromOpaque(privdata).takeUnretainedValue()
                subscriber.deliver(RedisValue(reply: reply.assumingMemoryBound(to: redisReply.self)))
            }, Unmanaged.passUnretained(self).toOpaque(), text, length)
        }
    }

    private func deliver(_ value: RedisValue) {
        connection.loop.noteIOEvent()
        guard let parts = value.array, let kind = parts.first?.string else { return }
        switch kind {
        case "message" where parts.count == 3:
            if let channel = parts[1].string, let payload = parts[2].bytes { channels[channel]?(payload) }
        case "pmessage" where parts.count == 4:
            if let pattern = parts[1].string, let channel = parts[2].string, let payload = parts[3].bytes {
                patterns[pattern]?(channel, payload)
            }
        default:
            break
        }
    }
}
