import CarawayRedis

/// Records what is PUBLISHed on one channel, for checking a script's PUBLISH (or its absence).
///
/// Absence is proved without waiting out a timer: `drain()` publishes a sentinel from the harness
/// connection and waits for it. Redis delivers a channel's messages in publish order, so anything
/// the operation under test published arrived before the sentinel.
final class ChannelRecorder {
    private let harness: BrokerHarness
    private let channel: String
    private let subscriber: RedisSubscriber
    private var received: [String] = []
    private var sentinels = 0
    private static let sentinel = "--caraway-test-sentinel--"

    init(_ harness: BrokerHarness, channel: String) throws {
        self.harness = harness
        self.channel = channel
        subscriber = RedisSubscriber(loop: harness.loop, endpoint: harness.endpoint, name: "recorder", logger: harness.logger)
        subscriber.subscribe(channel) { [weak self] payload in
            guard let self else { return }
            let text = String(decoding: payload, as: UTF8.self)
            if text == Self.sentinel { self.sentinels += 1 } else { self.received.append(text) }
        }
        subscriber.connect()
        // onReady fires when SUBSCRIBE is sent, not when it took effect: ask Redis instead.
        try harness.poll("a subscriber on \(channel)", "PUBSUB", "NUMSUB", channel) { ($0.array?.last?.int ?? 0) >= 1 }
    }

    deinit { subscriber.close() }

    /// Everything published on the channel so far (sentinels excluded).
    func drain() throws -> [String] {
        let expected = sentinels + 1
        try harness.redis("PUBLISH", channel, Self.sentinel)
        try harness.run("the sentinel on \(channel)") { sentinels >= expected }
        return received
    }
}
