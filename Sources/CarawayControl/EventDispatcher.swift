import CarawayLoop
import CarawayProtocol
import CarawayRedis
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Publishes Celery's event stream (spec §6) for this node: worker-online, a worker-heartbeat
/// every `frequency` seconds, worker-offline; and, while task events are enabled (`--task-events`,
/// or Flower's `enable_events` broadcast), task events batched on `task.multi`.
///
/// Events are best effort by nature (pub/sub): nothing in the task path waits for them, and a
/// batch is capped so a slow or absent Redis never grows memory without bound.
public final class EventDispatcher {
    public struct WorkerState {
        public var active: Int
        public var processed: Int
        public init(active: Int, processed: Int) {
            self.active = active
            self.processed = processed
        }
    }

    let loop: EventLoop
    let connection: RedisConnection
    let keys: ControlKeys
    let hostname: String
    let clock: LamportClock
    let version: String
    let frequency: Double
    let logger: Logger
    let pid = Int(getpid())
    public var taskEventsEnabled: Bool
    /// Supplies the counts for worker events.
    public var workerState: () -> WorkerState = { WorkerState(active: 0, processed: 0) }
    private var buffer: [CeleryEvent] = []
    private var flushTimer: LoopTimer?
    private var heartbeat: LoopTimer?
    public private(set) var published = 0
    public private(set) var dropped = 0
    static let maxBuffered = 10_000
    static let batchSize = 100

    public init(loop: EventLoop, connection: RedisConnection, keys: ControlKeys, hostname: String, clock: LamportClock,
                version: String, frequency: Double = 2, taskEvents: Bool, logger: Logger) {
        self.loop = loop
        self.connection = connection
        self.keys = keys
        self.hostname = hostname
        self.clock = clock
        self.version = version
        self.frequency = frequency
        self.taskEventsEnabled = taskEvents
        self.logger = logger
    }

    /// Sends worker-online and starts the heartbeat.
    public func start() {
        sendWorker("worker-online")
        let timer = LoopTimer(loop: loop)
        let every = UInt64(frequency * 1000)
        timer.start(after: every, repeat: every) { [weak self] in self?.sendWorker("worker-heartbeat") }
        timer.setKeepsLoopAlive(false)
        heartbeat = timer
    }

    /// Sends worker-offline (after flushing task events) and stops the heartbeat.
    public func stop() {
        heartbeat?.close()
        heartbeat = nil
        flush()
        flushTimer?.close()
        flushTimer = nil
        sendWorker("worker-offline")
    }

    /// A worker-heartbeat now (Flower asks with the `heartbeat` broadcast).
    public func heartbeatNow() { sendWorker("worker-heartbeat") }

    func sendWorker(_ type: String) {
        let state = workerState()
        let event = CeleryEvent(type: type, hostname: hostname, timestamp: now(), pid: pid, clock: clock.tick(),
                                utcoffset: Self.utcoffset,
                                extra: CeleryEvent.workerFields(frequency: frequency, active: state.active, processed: state.processed,
                                                                loadAverage: Self.loadAverage(), version: version))
        publish(channel: keys.eventChannel(event.routingKey), envelope: event.encoded())
    }

    /// Queues one task event (`task-started`, ...) when task events are on.
    public func task(_ type: String, uuid: String, fields: JSONObject = [:]) {
        guard taskEventsEnabled else { return }
        guard buffer.count < Self.maxBuffered else {
            dropped += 1
            return
        }
        var extra: JSONObject = ["uuid": .string(uuid)]
        for (key, value) in fields { extra[key] = value }
        buffer.append(CeleryEvent(type: type, hostname: hostname, timestamp: now(), pid: pid, clock: clock.tick(),
                                  utcoffset: Self.utcoffset, extra: extra))
        if buffer.count >= Self.batchSize {
            flush()
        } else if flushTimer == nil {
            // A short wait batches a burst into one PUBLISH without delaying Flower noticeably.
            flushTimer = LoopTimer.once(loop: loop, after: 20) { [weak self] in
                self?.flushTimer = nil
                self?.flush()
            }
        }
    }

    func flush() {
        guard !buffer.isEmpty else { return }
        let batch = buffer
        buffer.removeAll(keepingCapacity: true)
        publish(channel: keys.eventChannel("task.multi"), envelope: CeleryEvent.encodedBatch(batch, hostname: hostname))
    }

    private func publish(channel: String, envelope: [UInt8]) {
        guard connection.isReady else {
            dropped += 1
            return
        }
        published += 1
        connection.send(bytes: [Array("PUBLISH".utf8), Array(channel.utf8), envelope]) { _ in }
    }

    private func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// Celery 5.7's `time.timezone / 3600`: hours west of UTC, as a float.
    static let utcoffset: Double = {
        var now = time(nil)
        var local = tm()
        localtime_r(&now, &local)
        let seconds = -Int(local.tm_gmtoff)  // seconds west of UTC, as Python's time.timezone
        return Double(seconds) / 3600
    }()

    static func loadAverage() -> [Double] {
        var values = [Double](repeating: 0, count: 3)
        _ = getloadavg(&values, 3)
        return values
    }
}
