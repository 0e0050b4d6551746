import ArgumentParser
import CarawayControl
import CarawayLoop
import CarawayProtocol
#if canImport(Glibc)
import Glibc
#endif

/// `caraway inspect WHAT`: every node's state from the snapshots in Redis, with stale and
/// missing nodes marked. Exit 0 when every node is fresh, 1 when some are not, 69 when none is.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show what every node is doing (read from Redis; no broadcast, no waiting).")

    @Argument(help: "One of: \(InspectTarget.allCases.map(\.rawValue).joined(separator: ", ")).") var what: String
    @Flag(help: "Print the whole answer as one JSON object.") var json = false
    @Option(help: "Seconds to wait for Redis.") var timeout: Double = 5
    @Option(help: "A node whose snapshot is older than this many seconds is stale.") var staleAfter: Double = 3
    @OptionGroup var redis: RedisOptions

    func validate() throws {
        guard InspectTarget(rawValue: what) != nil else {
            throw ValidationError("unknown inspect target '\(what)'; one of \(InspectTarget.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard timeout > 0, staleAfter > 0 else { throw ValidationError("--timeout and --stale-after must be positive") }
    }

    func run() throws {
        let target = InspectTarget(rawValue: what)!
        let session = try RedisSession(options: redis)
        let asJSON = json, staleAfter = self.staleAfter, timeout = self.timeout
        let code = session.run(connectTimeout: timeout) { session in
            LoopTimer.once(loop: session.loop, after: UInt64(timeout * 1000)) {
                session.finish(69, error: "Redis did not answer within \(timeout) s")
            }.setKeepsLoopAlive(false)
            ClusterInspector(connection: session.connection, keys: session.controlKeys).inspect(target, staleAfter: staleAfter) { result in
                switch result {
                case .failure(let error):
                    session.finish(69, error: "inspect failed: \(error)")
                case .success(let document):
                    print(asJSON ? document.serializedString() : Self.human(document, target: target))
                    session.finish(Self.exitCode(document))
                }
            }
        }
        Glibc.exit(code)
    }

    static func exitCode(_ document: JSON) -> Int32 {
        let ok = document["summary"]?["ok"]?.intValue ?? 0
        let stale = document["summary"]?["stale"]?.intValue ?? 0
        let missing = document["summary"]?["missing"]?.intValue ?? 0
        if ok == 0 { return 69 }
        return stale + missing > 0 ? 1 : 0
    }

    /// Celery's CLI layout: `-> name: OK` then the reply (bullets for lists, JSON otherwise).
    static func human(_ document: JSON, target: InspectTarget) -> String {
        var lines: [String] = []
        for node in document["nodes"]?.arrayValue ?? [] {
            let name = node["name"]?.stringValue ?? "?"
            let status = node["status"]?.stringValue ?? "?"
            switch status {
            case "ok": lines.append("-> \(name): OK")
            case "stale": lines.append("-> \(name): STALE (\(String(format1: node["age_s"]?.doubleValue ?? 0)) s old)")
            default: lines.append("-> \(name): MISSING")
            }
            guard status != "missing", let reply = node["reply"] else { continue }
            lines.append(contentsOf: render(reply))
        }
        if target == .scheduled, let delayed = document["delayed"] {
            let total = delayed["total"]?.intValue ?? 0
            lines.append("Delayed set in Redis (ETA / countdown / retries): \(total) message\(total == 1 ? "" : "s")")
            for entry in delayed["entries"]?.arrayValue ?? [] {
                let request = entry["request"]
                lines.append("    * \(entry["eta"]?.stringValue ?? "?") \(request?["name"]?.stringValue ?? "?")[\(request?["id"]?.stringValue ?? "?")] queue=\(entry["queue"]?.stringValue ?? "?")")
            }
        }
        let summary = document["summary"]
        let count = (document["nodes"]?.arrayValue ?? []).count
        lines.append(count == 0 ? "No nodes found in Redis." :
            "\(count) node\(count == 1 ? "" : "s"): \(summary?["ok"]?.intValue ?? 0) ok, \(summary?["stale"]?.intValue ?? 0) stale, \(summary?["missing"]?.intValue ?? 0) missing")
        return lines.joined(separator: "\n")
    }

    static func render(_ reply: JSON) -> [String] {
        switch reply {
        case .array(let items):
            if items.isEmpty { return ["    - empty -"] }
            return items.map { item in
                if let id = item["id"]?.stringValue, let name = item["name"]?.stringValue {
                    return "    * \(name)[\(id)] pid=\(item["worker_pid"].map { $0.serializedString() } ?? "-") args=\(item["args"]?.serializedString() ?? "[]") kwargs=\(item["kwargs"]?.serializedString() ?? "{}")"
                }
                return "    * \(item.stringValue ?? item.serializedString())"
            }
        case .object(let object):
            if object.count == 1, let ok = object["ok"]?.stringValue { return ["    \(ok)"] }
            if object.count == 1, let error = object["error"]?.stringValue { return ["    error: \(error)"] }
            return ["    " + reply.serializedString()]
        default:
            return ["    " + reply.serializedString()]
        }
    }
}

extension String {
    /// One decimal place, without Foundation.
    init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(abs(tenths % 10))"
    }
}
