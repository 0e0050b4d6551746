import ArgumentParser
import CarawayBroker
import CarawayProtocol
#if canImport(Glibc)
import Glibc
#endif

/// `caraway purge`: removes waiting messages (and, with --delayed, delayed ones) with exact
/// counts. In-flight messages on live nodes are never touched.
struct PurgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Remove waiting (and optionally delayed) messages from queues.")

    @Option(name: [.customShort("Q"), .long], help: "Comma-separated queues (default: every queue found in Redis).") var queues: String?
    @Flag(help: "Count what would be removed; remove nothing.") var dryRun = false
    @Flag(help: "Also remove delayed messages (ETA, countdown, retry backoff) bound for these queues.") var delayed = false
    @Flag(help: "Really purge (required unless --dry-run).") var force = false
    @Flag(help: "Print the counts as JSON.") var json = false
    @Option(help: "Seconds to wait for Redis.") var timeout: Double = 5
    @OptionGroup var redis: RedisOptions

    func validate() throws {
        if !force && !dryRun {
            throw ValidationError("purge deletes messages for good: add --force (or --dry-run to only count)")
        }
        if let queues, queueList(queues).isEmpty { throw ValidationError("-Q needs at least one queue name") }
    }

    func queueList(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
    }

    func run() throws {
        let session = try RedisSession(options: redis)
        let named = queues.map(queueList)
        let delayed = self.delayed, dryRun = self.dryRun, asJSON = json
        let code = session.run(connectTimeout: timeout) { session in
            let admin = QueueAdmin(connection: session.connection, keys: session.keys)
            let purge: ([String]) -> Void = { names in
                admin.purge(queues: names, delayed: delayed, dryRun: dryRun) { result in
                    switch result {
                    case .failure(let error): session.finish(1, error: "purge failed: \(error)")
                    case .success(let counts):
                        print(asJSON ? Self.json(counts, dryRun: dryRun).serializedString() : Self.human(counts, dryRun: dryRun, delayed: delayed))
                        session.finish(0)
                    }
                }
            }
            if let named {
                purge(named)
            } else {
                admin.discoverQueues(including: ["celery"]) { result in
                    switch result {
                    case .failure(let error): session.finish(1, error: "could not list queues: \(error)")
                    case .success(let names): purge(names)
                    }
                }
            }
        }
        Glibc.exit(code)
    }

    static func json(_ counts: [QueuePurge], dryRun: Bool) -> JSON {
        .object([
            "queues": .array(counts.map { ["queue": .string($0.queue), "waiting": JSON($0.waiting), "delayed": JSON($0.delayed)] }),
            "total": ["waiting": JSON(counts.reduce(0) { $0 + $1.waiting }), "delayed": JSON(counts.reduce(0) { $0 + $1.delayed })],
            "dry_run": .bool(dryRun),
        ])
    }

    static func human(_ counts: [QueuePurge], dryRun: Bool, delayed: Bool) -> String {
        var lines = counts.map { "\($0.queue): \($0.waiting) waiting\(delayed ? ", \($0.delayed) delayed" : "")" }
        let total = counts.reduce(0) { $0 + $1.waiting + $1.delayed }
        lines.append("\(dryRun ? "Would purge" : "Purged") \(total) message\(total == 1 ? "" : "s") from \(counts.count) queue\(counts.count == 1 ? "" : "s") (messages in flight were not touched).")
        return lines.joined(separator: "\n")
    }
}
