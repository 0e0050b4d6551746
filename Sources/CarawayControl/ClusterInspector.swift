import CarawayBroker
import CarawayProtocol
import CarawayRedis
#if canImport(Glibc)
import Glibc
#endif

/// Cluster-wide inspect as one Redis read: every node's snapshot, judged fresh, stale or
/// missing by Redis's clock. Used by `caraway inspect` and `GET /api/v1/cluster/inspect/{what}`.
///
/// Statuses: `ok` — snapshot younger than `staleAfter`; `stale` — older (the node is stopped,
/// partitioned or its loop is stuck); `missing` — the node holds a live lease or was seen
/// recently, but has no snapshot left.
public final class ClusterInspector {
    let connection: RedisConnection
    let keys: ControlKeys
    /// How many delayed entries `scheduled` lists.
    public var delayedLimit = 100

    public init(connection: RedisConnection, keys: ControlKeys) {
        self.connection = connection
        self.keys = keys
    }

    /// Reads `what` from every node; completes with the JSON document the CLI prints with --json.
    public func inspect(_ what: InspectTarget, staleAfter: Double, _ completion: @escaping (Result<JSON, RedisError>) -> Void) {
        let started = Self.monotonic()
        connection.evaluate(ControlScripts.snapshotRead,
                            keys: [Array(keys.snapshotIndex.utf8), Array(keys.keys.nodes.utf8)],
                            arguments: [Array(keys.snapshotPrefix.utf8)]) { result in
            // Strong capture on purpose: a one-shot CLI inspector lives exactly as long as its read.
            switch result {
            case .failure(let error):
                completion(.failure(error))
            case .success(let value):
                let view = Self.nodes(from: value, what: what, staleAfter: staleAfter)
                self.extras(for: what, now: view.now) { extra in
                    switch extra {
                    case .failure(let error): completion(.failure(error))
                    case .success(let extra):
                        completion(.success(Self.document(what: what, nodes: view.nodes, extra: extra,
                                                          tookMilliseconds: (Self.monotonic() - started) * 1000)))
                    }
                }
            }
        }
    }

    struct NodeView {
        var name: String
        var nodeID: String
        var status: String
        var age: Double?
        var reply: JSON
    }

    static func nodes(from value: RedisValue, what: InspectTarget, staleAfter: Double) -> (now: Int64, nodes: [NodeView]) {
        guard let parts = value.array, parts.count == 3, let now = parts[0].int else { return (0, []) }
        var views: [NodeView] = []
        var seen = Set<String>()
        let flat = parts[1].array ?? []
        var i = 0
        while i + 2 < flat.count {
            defer { i += 3 }
            guard let id = flat[i].string else { continue }
            seen.insert(id)
            let at = flat[i + 1].string.flatMap(Double.init) ?? Double(flat[i + 1].int ?? 0)
            let age = Double(now) / 1000 - at / 1000
            guard let bytes = flat[i + 2].bytes, case .object(let snapshot)? = try? JSON.parse(bytes) else {
                views.append(NodeView(name: name(fromNodeID: id), nodeID: id, status: "missing", age: age, reply: .null))
                continue
            }
            let reply = snapshot["replies"]?[what.rawValue] ?? .null
            views.append(NodeView(name: snapshot["name"]?.stringValue ?? name(fromNodeID: id), nodeID: id,
                                  status: age > staleAfter ? "stale" : "ok", age: (age * 1000).rounded() / 1000, reply: reply))
        }
        for live in parts[2].array ?? [] {
            guard let id = live.string, !seen.contains(id) else { continue }
            views.append(NodeView(name: name(fromNodeID: id), nodeID: id, status: "missing", age: nil, reply: .null))
        }
        views.sort { ($0.name, $0.nodeID) < ($1.name, $1.nodeID) }
        return (now, views)
    }

    /// Node ids are `<name>-<pid>-<hex>`; names may contain dashes themselves.
    static func name(fromNodeID id: String) -> String {
        var parts = id.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return id }
        parts.removeLast(2)
        return parts.joined(separator: "-")
    }

    /// What some targets add beyond the snapshots: the durable revoked set, the delayed set.
    private func extras(for what: InspectTarget, now: Int64, _ completion: @escaping (Result<JSONObject, RedisError>) -> Void) {
        switch what {
        case .revoked:
            connection.send(["ZRANGEBYSCORE", keys.revoked, String(now), "+inf"]) { result in
                completion(result.map { value in ["revoked": .array((value.array ?? []).compactMap { $0.string }.map(JSON.string))] })
            }
        case .scheduled:
            connection.evaluate(ControlScripts.delayedPeek, keys: [Array(keys.keys.delayed.utf8), Array(keys.keys.delayedMessages.utf8)],
                                arguments: [Array(String(delayedLimit).utf8)]) { [keys] result in
                completion(result.map { value in ["delayed": Self.delayed(from: value, keys: keys.keys)] })
            }
        default:
            completion(.success([:]))
        }
    }

    static func delayed(from value: RedisValue, keys: RedisKeys) -> JSON {
        let parts = value.array ?? []
        var entries: [JSON] = []
        for item in parts.count > 1 ? (parts[1].array ?? []) : [] {
            guard let pair = item.array, pair.count == 2, let due = pair[0].string.flatMap(Double.init), let stored = pair[1].bytes,
                  let reservation = Reservation(field: "", storedValue: stored, keys: keys) else { continue }
            var entry: JSONObject = ["eta": .string(Timestamp.format(due / 1000)), "queue": .string(reservation.queue)]
            if let message = try? CeleryMessage.decode(reservation.envelope) {
                entry["priority"] = JSON(message.priority)
                entry["request"] = TaskRequestInfo(id: message.id, name: message.task, args: message.args, kwargs: message.kwargs,
                                                   hostname: "", timeStart: nil, workerPID: nil, queue: reservation.queue,
                                                   priority: message.priority, redelivered: message.redelivered).json
            } else {
                entry["request"] = .null
            }
            entries.append(.object(entry))
        }
        return .object(["total": JSON(parts.first?.int.map(Int.init) ?? 0), "entries": .array(entries)])
    }

    static func document(what: InspectTarget, nodes: [NodeView], extra: JSONObject, tookMilliseconds: Double) -> JSON {
        var list: [JSON] = []
        var counts = ["ok": 0, "stale": 0, "missing": 0]
        for node in nodes {
            counts[node.status, default: 0] += 1
            var reply = node.reply
            // The revoked set is cluster-wide and durable: every answering node enforces all of it.
            if what == .revoked, node.status != "missing" { reply = extra["revoked"] ?? .array([]) }
            list.append(.object(["name": .string(node.name), "node_id": .string(node.nodeID), "status": .string(node.status),
                                 "age_s": node.age.map { JSON($0) } ?? .null, "reply": reply]))
        }
        var document: JSONObject = ["what": .string(what.rawValue), "nodes": .array(list)]
        document["summary"] = .object(["ok": JSON(counts["ok"]!), "stale": JSON(counts["stale"]!), "missing": JSON(counts["missing"]!)])
        if let delayed = extra["delayed"] { document["delayed"] = delayed }
        if let revoked = extra["revoked"] { document["revoked"] = revoked }
        document["took_ms"] = JSON((tookMilliseconds * 1000).rounded() / 1000)
        return .object(document)
    }

    static func monotonic() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
