import ArgumentParser
import CCaraway
import CarawayControl
import CarawayLoop
import CarawayProtocol
import CarawayRedis
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// `caraway events`: tails Celery's event stream (the same one Flower reads).
struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print worker and task events as they happen.")

    @Flag(help: "One JSON object per event per line.") var json = false
    @Option(help: "Exit after this many events.") var count: Int?
    @Option(help: "Exit after this many seconds.") var timeout: Double?
    @OptionGroup var redis: RedisOptions

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let timeout, timeout <= 0 { throw ValidationError("--timeout must be positive") }
    }

    func run() throws {
        let session = try RedisSession(options: redis)
        var logger = Logger(label: "caraway.events")
        logger.logLevel = .critical
        let subscriber = RedisSubscriber(loop: session.loop, endpoint: session.connection.endpoint, name: "events", logger: logger)
        session.closing { subscriber.close() }
        let asJSON = json, limit = count
        var seen = 0
        if let timeout {
            LoopTimer.once(loop: session.loop, after: UInt64(timeout * 1000)) { session.finish(0) }
        }
        let code = session.run(connectTimeout: 5) { session in
            subscriber.psubscribe(session.controlKeys.eventPattern) { _, payload in
                guard let events = try? CeleryEvent.decode(payload) else { return }
                for event in events {
                    print(asJSON ? JSON.object(event.fields).serializedString() : Self.human(event))
                    fflush(caraway_stdout())
                    seen += 1
                    if let limit, seen >= limit {
                        session.finish(0)
                        return
                    }
                }
            }
            subscriber.connect()
        }
        Glibc.exit(code)
    }

    static func human(_ event: CeleryEvent) -> String {
        let f = event.fields
        let time = f["timestamp"]?.doubleValue.map { Timestamp.format($0) } ?? "?"
        var line = "\(time) \(f["hostname"]?.stringValue ?? "?") \(event.type)"
        if let uuid = f["uuid"]?.stringValue { line += " \(f["name"]?.stringValue.map { "\($0)[\(uuid)]" } ?? uuid)" }
        for key in ["runtime", "result", "exception", "active", "processed"] {
            if let value = f[key] { line += " \(key)=\(value.stringValue ?? value.serializedString())" }
        }
        return line
    }
}
