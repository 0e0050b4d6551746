@testable import CarawayBroker
import CarawayRedis

/// Helpers for the QueueAdmin tests: the admin itself, a second client, small scan chunks.
extension BrokerHarness {
    /// A QueueAdmin on the harness connection; a small `scanCount` makes walks take several chunks.
    func admin(scanCount: Int = 500) -> QueueAdmin {
        let admin = QueueAdmin(connection: connection, keys: keys)
        admin.scanCount = scanCount
        return admin
    }

    /// Another ready client on the same loop (e.g. a producer racing an admin operation).
    func secondConnection(name: String) throws -> RedisConnection {
        let other = RedisConnection(loop: loop, endpoint: endpoint, name: name, logger: logger)
        var ready = false
        other.onReady = { ready = true }
        other.connect()
        try run("connection \(name) to be ready") { ready }
        return other
    }

    /// Makes new hashes use Redis's hashtable encoding, where HSCAN honours COUNT (small
    /// listpack-encoded hashes are returned whole), so cursor walks really take several steps.
    func forceHashtableEncoding() throws {
        try redis("CONFIG", "SET", "hash-max-listpack-entries", "0")
    }

    /// Seeds `n` delayed messages bound for `destination`, tags `<tag>0..<tag>n-1`.
    func seedManyDelayed(_ n: Int, tag: String, destination: String) throws {
        var state = BrokerState()
        for i in 0..<n { state.delay(tag: tag + String(i), due: 60_000, destination: destination, envelope: "m\(i)") }
        try seedDelayed(due: state.delayed, messages: state.delayedMessages)
    }
}
