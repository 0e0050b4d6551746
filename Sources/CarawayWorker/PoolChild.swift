import CarawayLoop
import Logging

/// One child process of the pool, seen from the node: its process, its framing, its state.
public final class PoolChild {
    public enum State: Sendable { case starting, idle, busy, retiring, exited }

    public let process: ChildProcess
    public internal(set) var state: State = .starting
    /// Whether this child occupies one of the pool's K slots. A pre-spawned replacement waits
    /// without a slot until the child it replaces finishes its last task (prefetch stays ≤ K).
    public internal(set) var holdsSlot: Bool
    /// Tasks started on this child.
    public internal(set) var tasksStarted = 0
    /// Set when the child must retire once its current task ends (max tasks or memory).
    public internal(set) var retireAfterCurrent = false
    /// Why it is retiring, for logs and stats.
    public internal(set) var retireReason: String?
    /// Peak RSS reported with the last reply, KiB.
    public internal(set) var rssKiB = 0
    var decoder = FrameDecoder()

    public var pid: Int32 { process.pid }

    /// Holds a slot and waits for work.
    public var isAvailable: Bool { holdsSlot && state == .idle }

    init(process: ChildProcess, holdsSlot: Bool) {
        self.process = process
        self.holdsSlot = holdsSlot
    }

    /// Sends one framed request.
    func send(_ frame: [UInt8]) { process.channel.write(frame) }

    /// Asks the child to exit after closing its pipe (it exits on EOF); SIGKILL follows if it lingers.
    func retire(loop: EventLoop, graceMilliseconds: UInt64 = 5_000) {
        guard state != .exited else { return }
        state = .retiring
        process.channel.close()
        let process = self.process
        LoopTimer.once(loop: loop, after: graceMilliseconds) {
            if !process.hasExited { process.kill(9) }
        }.setKeepsLoopAlive(false)
    }
}
