import ArgumentParser
import CarawayBroker
import CarawayLoop
import CarawayProtocol
import CarawayRedis
import CarawayWorker
import Logging
import CCaraway
#if canImport(Glibc)
import Glibc
#endif

/// `caraway call TASK`: publish one task in Celery's format, optionally wait for its result.
///
/// The message goes straight onto the queue list, ETA included, exactly as Python's
/// `send_task` would send it — so a stock Celery worker can run it too; Caraway nodes move
/// not-yet-due messages into their delayed set when they reserve them.
struct CallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "call", abstract: "Send a task (Celery protocol v2) and optionally wait for its result.")

    @Argument(help: "Task name, e.g. caraway.add") var task: String
    @Option(help: "Positional arguments as a JSON array.") var args: String = "[]"
    @Option(help: "Keyword arguments as a JSON object.") var kwargs: String = "{}"
    @Option(help: "Queue (default: from --routes, else celery).") var queue: String?
    @Option(help: "Routing table JSON {\"glob\": \"queue\"}, like Celery's task_routes (env CARAWAY_ROUTES).") var routes: String?
    @Option(help: "Run no earlier than this many seconds from now.") var countdown: Double?
    @Option(help: "Run no earlier than this ISO-8601 time.") var eta: String?
    @Option(help: "Discard the task if not started within this many seconds.") var expires: Double?
    @Option(help: "Priority 0-9 (0 is served first, as on kombu's Redis transport).") var priority: Int = 0
    @Option(help: "Task id (default: a new UUID).") var id: String?
    @Flag(help: "Wait for the result and print it; exit non-zero if the task failed.") var wait = false
    @Option(help: "Seconds to wait with --wait.") var timeout: Double = 30
    @Option(help: "Redis URL (env CARAWAY_REDIS_URL).") var redis: String?
    @Option(help: "kombu global_keyprefix (env CARAWAY_KEY_PREFIX).") var keyPrefix: String?

    func validate() throws {
        if countdown != nil && eta != nil { throw ValidationError("give --countdown or --eta, not both") }
        if !(0...9).contains(priority) { throw ValidationError("--priority must be 0-9, got \(priority)") }
        if task.isEmpty { throw ValidationError("the task name must not be empty") }
    }

    func run() throws {
        LoggingSystem.bootstrap { LineLogHandler(label: $0, format: .human, level: .warning) }
        let logger = Logger(label: "caraway.call")
        guard case .array(let argList) = try parse(args, "--args") else { throw ValidationError("--args must be a JSON array, e.g. '[2, 3]'") }
        guard case .object(let kwargObject) = try parse(kwargs, "--kwargs") else { throw ValidationError("--kwargs must be a JSON object, e.g. '{\"x\": 1}'") }
        let now = SystemClock().now
        let table = try parseRoutes(routes ?? env("ROUTES"))
        let target = queue ?? table.queue(for: task) ?? "celery"
        var draft = CeleryMessage.Draft(task: task, id: id ?? makeUUID(), args: argList, kwargs: kwargObject, queue: target)
        draft.priority = priority
        draft.origin = "caraway-cli@\(NodeCommand.hostname())"
        if let countdown { draft.eta = now + countdown }
        if let eta {
            do { draft.eta = try Timestamp.parse(eta) } catch { throw ValidationError("--eta: \(error)") }
        }
        if let expires { draft.expires = now + expires }
        let endpoint: RedisEndpoint
        do { endpoint = try RedisEndpoint.parse(redis ?? env("REDIS_URL") ?? "redis://127.0.0.1:6379/0") } catch { throw ValidationError("\(error)") }
        let code = try Sender(endpoint: endpoint, keys: RedisKeys(prefix: keyPrefix ?? env("KEY_PREFIX") ?? ""), draft: draft,
                              wait: wait, timeout: timeout, logger: logger).run()
        if code != 0 { throw ExitCode(code) }
    }

    private func parse(_ text: String, _ flag: String) throws -> JSON {
        do { return try JSON.parse(text) } catch { throw ValidationError("\(flag) is not valid JSON: \(error)") }
    }
}

/// Publishes one draft and (optionally) waits for its result on the loop: subscribe first, then
/// publish, then GET — so a result stored before the subscription took effect is not missed.
final class Sender {
    let loop: EventLoop
    let connection: RedisConnection
    let subscriber: RedisSubscriber
    let keys: RedisKeys
    let draft: CeleryMessage.Draft
    let wait: Bool
    let timeout: Double
    var exitCode: Int32 = 0
    var finished = false

    init(endpoint: RedisEndpoint, keys: RedisKeys, draft: CeleryMessage.Draft, wait: Bool, timeout: Double, logger: Logger) throws {
        loop = try EventLoop()
        connection = RedisConnection(loop: loop, endpoint: endpoint, name: "call", logger: logger)
        subscriber = RedisSubscriber(loop: loop, endpoint: endpoint, name: "call-results", logger: logger)
        self.keys = keys
        self.draft = draft
        self.wait = wait
        self.timeout = timeout
    }

    func run() throws -> Int32 {
        let resultKey = keys.result(taskID: draft.id)
        LoopTimer.once(loop: loop, after: UInt64(timeout * 1000)) { [unowned self] in
            self.finish(2, error: wait ? "timed out after \(timeout) s waiting for task \(draft.id)" : "could not reach Redis at \(connection.endpoint) within \(timeout) s")
        }
        if wait {
            subscriber.subscribe(resultKey) { [unowned self] payload in self.received(payload) }
            subscriber.onReady = { [unowned self] in self.connection.connect() }
            subscriber.connect()
        } else {
            connection.connect()
        }
        connection.onReady = { [unowned self] in self.publish() }
        loop.run()
        return exitCode
    }

    private func publish() {
        let tag = makeUUID()
        let envelope = draft.encodedEnvelope(deliveryTag: tag)
        connection.send(bytes: [Array("LPUSH".utf8), Array(keys.queue(draft.queue, priority: draft.clampedPriority).utf8), envelope]) { [unowned self] result in
            if case .failure(let error) = result {
                self.finish(1, error: "could not publish: \(error)")
                return
            }
            guard self.wait else {
                print(self.draft.id)
                self.finish(0)
                return
            }
            self.connection.send(["GET", self.keys.result(taskID: self.draft.id)]) { [unowned self] result in
                if case .success(.bulk(let bytes)) = result { self.received(bytes) }
            }
        }
    }

    private func received(_ payload: [UInt8]) {
        guard let record = try? ResultRecord.decode(payload), record.state.isReady else { return }
        if record.state == .success {
            print(record.result.serializedString())
            finish(0)
        } else if let exception = record.exception {
            let message = exception.message.map { $0.stringValue ?? $0.serializedString() }.joined(separator: ", ")
            finish(1, error: "task \(draft.id) \(record.status): \(exception.type): \(message)")
        } else {
            finish(1, error: "task \(draft.id) \(record.status): \(record.result.serializedString())")
        }
    }

    private func finish(_ code: Int32, error: String? = nil) {
        guard !finished else { return }
        finished = true
        if let error { fputs("caraway: \(error)\n", caraway_stderr()) }
        exitCode = code
        subscriber.close()
        connection.close()
        loop.closeAllHandles()
    }
}
