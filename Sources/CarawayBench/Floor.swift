import CarawayBroker
import CarawayProtocol
import CarawayRedis
#if canImport(Glibc)
import Glibc
#endif

/// `caraway-bench floor`: sets up what a node would find — the node's `settle_reserve` script
/// loaded, a node id in the live set, `count` no-op messages (the same envelopes as `noop`) on
/// `celery` — then becomes `caraway-floor` (next to this binary), which drains them through the
/// bare chain and prints its JSON (Sources/CarawayFloor/main.c).
func floor(endpoint: RedisEndpoint, count: Int) {
    let nodeID = "floor-\(getpid())"
    let scriptKeys = [keys.inflight(node: nodeID), "", keys.nodes, keys.revoked]
        + RedisKeys.prioritySteps.map { keys.queue("celery", priority: $0) }
    var sent = 0
    connection.send(["SCRIPT", "LOAD", BrokerScripts.settleReserve.source]) { result in
        guard case .success(let value) = result, let sha = value.string else {
            fputs("caraway-bench floor: SCRIPT LOAD failed: \(result)\n", stderr)
            exit(1)
        }
        // A lease far in the future: the floor runs no heartbeat.
        connection.send(["ZADD", keys.nodes, String(Int64(now() * 1000) + 3_600_000), nodeID]) { _ in
            enqueue(sha: sha)
        }
    }
    func enqueue(sha: String) {
        var command: [[UInt8]] = [Array("LPUSH".utf8), Array("celery".utf8)]
        for _ in 0..<min(1_000, count - sent) {
            command.append(envelope(task: "caraway.noop", args: [], ignoreResult: true).1)
        }
        sent += command.count - 2
        connection.send(bytes: command) { _ in
            if sent < count { enqueue(sha: sha) } else { become(sha: sha) }
        }
    }
    func become(sha: String) {
        let directory = String(CommandLine.arguments[0].split(separator: "/", omittingEmptySubsequences: false).dropLast()
            .joined(separator: "/"))
        let path = (directory.isEmpty ? "." : directory) + "/caraway-floor"
        let argv = [path, endpoint.host, String(endpoint.port), sha, "2", nodeID] + scriptKeys
        connection.close()
        subscriber.close()
        fflush(stdout)
        var cArguments = argv.map { strdup($0) } + [nil]
        execv(path, &cArguments)
        fputs("caraway-bench floor: cannot run \(path): \(String(cString: strerror(errno)))\n", stderr)
        exit(1)
    }
}
