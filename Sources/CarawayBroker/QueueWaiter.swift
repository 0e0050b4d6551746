import CarawayLoop
import CarawayRedis
import Logging

/// Wakes the node when a message lands on a watched queue key, without taking it.
///
/// Each watched list key gets its own blocking connection running
/// `BLMOVE key key RIGHT RIGHT timeout`: moving the tail element onto the tail of the same list
/// changes nothing, but the command blocks until the list is non-empty. So the node learns of
/// new work within one round trip of the producer's LPUSH, and the only thing that ever *takes*
/// a message is the atomic `reserve` script — prefetch stays exact (I4) and nothing sits in
/// node memory (I1). One connection per key, because a blocking command waits on one
/// connection and BLMOVE watches one key.
public final class QueueWaiter {
    private let loop: EventLoop
    private let logger: Logger
    private var watchers: [String: Watcher] = [:]
    /// How long one blocking wait lasts before it is renewed (seconds).
    public var blockSeconds = 5
    /// Fires when a watched key has data (possibly several times for one arrival).
    public var onData: (() -> Void)?

    private final class Watcher {
        let key: String
        let connection: RedisConnection
        var waiting = false
        var wanted = false
        init(key: String, connection: RedisConnection) {
            self.key = key
            self.connection = connection
        }
    }

    public init(loop: EventLoop, endpoint: RedisEndpoint, keys: [String], logger: Logger) {
        self.loop = loop
        self.logger = logger
        for (i, key) in keys.enumerated() {
            let connection = RedisConnection(loop: loop, endpoint: endpoint, name: "wait-\(i)", logger: logger, commandTimeout: 0)
            let watcher = Watcher(key: key, connection: connection)
            connection.onReady = { [weak self, weak watcher] in
                guard let self, let watcher else { return }
                watcher.waiting = false
                if watcher.wanted { self.wait(watcher) }
            }
            watchers[key] = watcher
        }
    }

    public func connect() { for watcher in watchers.values { watcher.connection.connect() } }

    public func close() { for watcher in watchers.values { watcher.connection.close() } }

    /// Starts waiting on every key (no-op for keys already waiting). Call when the node has an
    /// idle child and a reserve found every queue empty.
    public func arm() {
        for watcher in watchers.values {
            watcher.wanted = true
            wait(watcher)
        }
    }

    /// Stops re-arming after the current waits end (the node is busy).
    public func disarm() { for watcher in watchers.values { watcher.wanted = false } }

    private func wait(_ watcher: Watcher) {
        guard !watcher.waiting, watcher.wanted, watcher.connection.isReady else { return }
        watcher.waiting = true
        let timeout = UInt64(blockSeconds) * 1000 + 5_000
        watcher.connection.send(["BLMOVE", watcher.key, watcher.key, "RIGHT", "RIGHT", String(blockSeconds)], timeout: timeout) { [weak self, weak watcher] result in
            guard let self, let watcher else { return }
            watcher.waiting = false
            switch result {
            case .success(.null):
                self.wait(watcher)
            case .success:
                watcher.wanted = false
                self.onData?()
            case .failure(let error):
                // Reconnect re-arms through onReady; a server error (e.g. WRONGTYPE) is logged once per try.
                if case .server = error {
                    self.logger.error("queue.wait_failed", metadata: ["queue.key": "\(watcher.key)", "error": "\(error)"])
                    LoopTimer.once(loop: self.loop, after: 1_000) { [weak self, weak watcher] in
                        if let self, let watcher { self.wait(watcher) }
                    }
                }
            }
        }
    }
}
