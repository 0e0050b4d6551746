import ArgumentParser
import CCaraway
import CarawayBroker
import CarawayControl
#if canImport(Glibc)
import Glibc
#endif

/// `caraway revoke ID...`: durable in Redis (honoured by every node, including ones started
/// later), then broadcast so running copies can be terminated and Python workers hear it too.
struct RevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke tasks: they will not run; with --terminate a running one is stopped.")

    @Argument(help: "Task ids.") var ids: [String]
    @Flag(help: "Also stop the child running the task (the signal, then SIGKILL after 5 s).") var terminate = false
    @Option(help: "Signal for --terminate (SIGTERM, SIGKILL, SIGINT, SIGUSR1, ...).") var signal: String = "SIGTERM"
    @Option(help: "Seconds the revocation lasts (at least until the last delayed ETA).") var ttl: Int = Revocations.defaultTTLSeconds
    @Option(help: "Result TTL for the REVOKED records, as the nodes' --result-expires.") var resultExpires: Int = 86_400
    @Option(help: "Seconds to wait for Redis.") var timeout: Double = 5
    @OptionGroup var redis: RedisOptions

    func validate() throws {
        guard !ids.isEmpty else { throw ValidationError("give at least one task id") }
        for id in ids where id.isEmpty || id.utf8.count > 255 || id.utf8.contains(where: { $0 < 0x20 }) {
            throw ValidationError("'\(id)' is not a task id")
        }
        guard Node.signalNumber(.string(signal)) != nil else { throw ValidationError("unknown signal '\(signal)'") }
        guard ttl > 0 else { throw ValidationError("--ttl must be positive") }
    }

    func run() throws {
        let session = try RedisSession(options: redis)
        let ids = self.ids, terminate = self.terminate, signal = self.signal, ttl = self.ttl, resultExpires = self.resultExpires
        let code = session.run(connectTimeout: timeout) { session in
            let broker = Broker(connection: session.connection, keys: session.keys, nodeID: "cli")
            Revocations.revoke(broker: broker, taskIDs: ids, ttlSeconds: ttl, resultTTLSeconds: resultExpires) { result in
                if case .failure(let error) = result {
                    session.finish(1, error: "revoke failed: \(error)")
                    return
                }
                Revocations.broadcast(on: session.connection, keys: session.controlKeys, taskIDs: ids, terminate: terminate, signal: signal) { result in
                    let listeners = (try? result.get().int) ?? 0
                    for id in ids { print("revoked \(id)\(terminate ? " (terminate with \(signal))" : "")") }
                    if terminate && listeners == 0 { fputs("caraway: no node is listening for the terminate broadcast\n", caraway_stderr()) }
                    session.finish(0)
                }
            }
        }
        Glibc.exit(code)
    }
}
