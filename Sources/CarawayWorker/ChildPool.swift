import CarawayLoop
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// K child processes that run task code, each recycled after N tasks or past a memory ceiling.
///
/// ```
///  spawn ──► starting ──ready──► idle ◄──reply── busy
///                                 │  run()        ▲
///                                 └───────────────┘
///  busy ──last task (max N / memory)──► retiring ──EOF──► exited
///  any  ──killed / crashed──► exited ──► replacement spawned
/// ```
/// Recycling never makes work wait on a spawn: when a child starts its last task, its
/// replacement is spawned at once and waits *without a slot* until the old child finishes,
/// so the node never holds more than K messages (I4) and the next task starts on a warm child.
public final class ChildPool {
    public struct Configuration: Sendable {
        public var size: Int
        public var maxTasksPerChild: Int?
        public var maxMemoryKiB: Int?
        public var executable: String
        public var environment: [String]
        /// argv[0] for the children (what `ps` shows); nil = `executable`.
        public var displayName: String?

        public init(size: Int, maxTasksPerChild: Int? = nil, maxMemoryKiB: Int? = nil, executable: String, environment: [String]) {
            self.size = size
            self.maxTasksPerChild = maxTasksPerChild
            self.maxMemoryKiB = maxMemoryKiB
            self.executable = executable
            self.environment = environment
        }
    }

    public let configuration: Configuration
    let loop: EventLoop
    let logger: Logger

    public private(set) var children: [PoolChild] = []
    /// Counts for stats: restarts by reason.
    public private(set) var restarts: [String: Int] = [:]
    private var stopping = false
    private var respawnTimer: LoopTimer?

    /// A child is ready for a task (fires after spawn-ready and after each reply).
    public var onAvailable: ((PoolChild) -> Void)?
    /// A child answered the request it was running.
    public var onReply: ((PoolChild, ChildReply) -> Void)?
    /// A busy child exited before answering (killed, crashed, out of memory).
    public var onLost: ((PoolChild, _ status: Int64, _ signal: Int32) -> Void)?
    /// Every child has exited after `stop()`.
    public var onStopped: (() -> Void)?

    public init(loop: EventLoop, configuration: Configuration, logger: Logger) {
        self.loop = loop
        self.configuration = configuration
        self.logger = logger
    }

    public func start() {
        for _ in 0..<configuration.size { spawn(holdsSlot: true) }
    }

    /// Children that are up (for readiness).
    public var readyCount: Int { children.filter { $0.holdsSlot && ($0.state == .idle || $0.state == .busy) }.count }
    public var pids: [Int32] { children.filter { $0.state != .exited }.map(\.pid) }

    /// Hands `frame` to an idle child. Prepares its replacement when this is its last task.
    public func run(_ frame: [UInt8], on child: PoolChild) {
        precondition(child.state == .idle && child.holdsSlot, "run() needs an idle child that holds a slot")
        child.state = .busy
        child.tasksStarted += 1
        if let limit = configuration.maxTasksPerChild, child.tasksStarted >= limit {
            markForRetirement(child, reason: "max-tasks")
        }
        child.send(frame)
    }

    /// Kills a child (hard time limit, terminate, forced shutdown).
    public func kill(_ child: PoolChild, signal: Int32) { child.process.kill(signal) }

    /// Stops every child: idle ones at once, busy ones are killed when `force`.
    public func stop(force: Bool) {
        stopping = true
        respawnTimer?.close()
        for child in children where child.state != .exited {
            if force || child.state != .busy {
                if force { child.process.kill(SIGKILL) } else { child.retire(loop: loop) }
            }
        }
        checkStopped()
    }

    private func markForRetirement(_ child: PoolChild, reason: String) {
        guard !child.retireAfterCurrent else { return }
        child.retireAfterCurrent = true
        child.retireReason = reason
        if !stopping { spawn(holdsSlot: false) }
    }

    private func spawn(holdsSlot: Bool) {
        guard !stopping else { return }
        do {
            var box: PoolChild?
            let process = try ChildProcess(loop: loop, executable: configuration.executable, argv0: configuration.displayName, arguments: [],
                                           environment: configuration.environment) { [weak self] status, signal in
                if let self, let child = box { self.exited(child, status: status, signal: signal) }
                box = nil
            }
            let child = PoolChild(process: process, holdsSlot: holdsSlot)
            box = child
            children.append(child)
            process.channel.startReading({ [weak self, weak child] bytes in
                guard let self, let child else { return }
                self.received(bytes, from: child)
            }, onEnd: { _ in })
            logger.info("child.spawned", metadata: ["child.pid": "\(process.pid)"])
        } catch {
            logger.error("child.spawn_failed", metadata: ["error": "\(error)", "executable": "\(configuration.executable)"])
            if holdsSlot { scheduleRespawn() }
        }
    }

    private func scheduleRespawn() {
        if respawnTimer == nil { respawnTimer = LoopTimer(loop: loop) }
        respawnTimer?.start(after: 1_000) { [weak self] in self?.refill() }
    }

    /// Keeps K slot-holding children alive.
    private func refill() {
        guard !stopping else { return }
        let holding = children.filter { $0.holdsSlot && $0.state != .exited && $0.state != .retiring }.count
        for _ in holding..<max(holding, configuration.size) { spawn(holdsSlot: true) }
    }

    private func received(_ bytes: UnsafeRawBufferPointer, from child: PoolChild) {
        let frames: [[UInt8]]
        do {
            frames = try child.decoder.feed(bytes)
        } catch {
            logger.error("child.protocol_violation", metadata: ["child.pid": "\(child.pid)", "error": "\(error)"])
            child.process.kill(SIGKILL)
            return
        }
        for frame in frames {
            guard let reply = try? ChildReply(decoding: frame) else {
                logger.error("child.bad_reply", metadata: ["child.pid": "\(child.pid)"])
                child.process.kill(SIGKILL)
                return
            }
            handle(reply, from: child)
        }
    }

    private func handle(_ reply: ChildReply, from child: PoolChild) {
        if case .ready = reply {
            guard child.state == .starting else { return }
            child.state = .idle
            if stopping { child.retire(loop: loop); return }
            if child.holdsSlot { onAvailable?(child) }
            return
        }
        guard child.state == .busy else { return }
        switch reply {
        case .success(_, _, let rss), .failure(_, _, _, let rss), .retry(_, _, let rss):
            child.rssKiB = rss
            if let limit = configuration.maxMemoryKiB, rss > limit { markForRetirement(child, reason: "max-memory") }
        case .ready:
            break
        }
        // Decide first: a retiring child must not look available while its reply is handled.
        let retiring = child.retireAfterCurrent || stopping
        child.state = retiring ? .retiring : .idle
        onReply?(child, reply)
        if retiring {
            retire(child)
        } else if child.state == .idle {
            onAvailable?(child)
        }
    }

    /// Retires `child` and passes its slot to the standby replacement (or spawns one).
    private func retire(_ child: PoolChild) {
        let hadSlot = child.holdsSlot
        child.holdsSlot = false
        child.retire(loop: loop)
        if let reason = child.retireReason { restarts[reason, default: 0] += 1 }
        logger.info("child.retired", metadata: ["child.pid": "\(child.pid)", "reason": "\(child.retireReason ?? "shutdown")", "child.tasks": "\(child.tasksStarted)"])
        guard hadSlot, !stopping else { return }
        promoteStandby()
    }

    private func promoteStandby() {
        if let standby = children.first(where: { !$0.holdsSlot && ($0.state == .starting || $0.state == .idle) }) {
            standby.holdsSlot = true
            if standby.state == .idle { onAvailable?(standby) }
        } else {
            spawn(holdsSlot: true)
        }
    }

    private func exited(_ child: PoolChild, status: Int64, signal: Int32) {
        let previous = child.state
        let hadSlot = child.holdsSlot
        child.state = .exited
        child.holdsSlot = false
        child.process.channel.close()
        child.process.close()
        children.removeAll { $0 === child }
        if previous == .busy {
            restarts[signal == SIGKILL ? "killed" : "crashed", default: 0] += 1
            logger.warning("child.lost", metadata: ["child.pid": "\(child.pid)", "exit.status": "\(status)", "exit.signal": "\(signal)"])
            onLost?(child, status, signal)
        } else if previous != .retiring {
            restarts["crashed", default: 0] += 1
            logger.warning("child.exited_unexpectedly", metadata: ["child.pid": "\(child.pid)", "exit.status": "\(status)", "exit.signal": "\(signal)"])
        }
        if stopping {
            checkStopped()
            return
        }
        if hadSlot {
            if previous == .starting { scheduleRespawn() } else { promoteStandby() }
        } else if previous == .starting || previous == .idle, children.contains(where: { $0.retireAfterCurrent && $0.state == .busy }) {
            spawn(holdsSlot: false)
        }
    }

    private func checkStopped() {
        if stopping && children.allSatisfy({ $0.state == .exited }) {
            let done = onStopped
            onStopped = nil
            done?()
        }
    }
}
