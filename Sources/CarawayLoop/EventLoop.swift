import CUV
#if canImport(Glibc)
import Glibc
#endif

/// One libuv loop: the single thread on which a Caraway node does all its I/O.
///
/// Threading: every object of this module is confined to the thread that calls `run()`.
/// Nothing here is thread-safe; nothing here blocks.
public final class EventLoop {
    package let raw: UnsafeMutablePointer<uv_loop_t>
    /// Handles opened through this module (foreign ones, like hiredis's polls, are closed by their owners).
    var openHandles: [ObjectIdentifier: HandleBox] = [:]

    public init() throws(LoopError) {
        raw = .allocate(capacity: 1)
        let status = uv_loop_init(raw)
        if status < 0 {
            raw.deallocate()
            throw LoopError(code: status, operation: "uv_loop_init")
        }
    }

    deinit {
        // Handles still open would make uv_loop_close fail with EBUSY; walk and close them first.
        closeAllHandles()
        uv_run(raw, UV_RUN_DEFAULT)
        uv_loop_close(raw)
        raw.deallocate()
    }

    /// Runs until no active handle remains or `stop()` is called.
    public func run() { uv_run(raw, UV_RUN_DEFAULT) }

    private var stopRequested = false

    /// Runs like ``run()``, but after a wake-up at which `busy()` holds it keeps polling for I/O
    /// without sleeping until `budget` nanoseconds pass with no I/O event (``noteIOEvent()``),
    /// then sleeps again.
    ///
    /// Why: with prefetch 1 a busy node waits on round trips (child ↔ node ↔ Redis), and on a
    /// VM each sleep-to-wake of an idle vCPU costs a halt and an interrupt. Polling while replies
    /// are due measured +40–70 % no-op tasks/s on this 2-core VM (docs/performance.md), and
    /// polling on for one budget after the last reply catches the next task of a burst without
    /// a wake-up. Bounded on purpose: an idle node (`busy()` false) sleeps as before, and a node
    /// waiting on long tasks polls one budget after each event, then sleeps. Timers and every
    /// other callback run as usual while polling, and each poll yields the CPU to any task
    /// waiting for it, so the spin never delays the processes it is waiting on.
    public func run(busyPollingWhile busy: () -> Bool, budget: UInt64) {
        stopRequested = false
        while !stopRequested {
            if busy() {
                var until = uv_hrtime() + budget
                var seen = ioEvents
                repeat {
                    if uv_run(raw, UV_RUN_NOWAIT) == 0 || stopRequested { return }
                    // Give way at once to anything woken onto this CPU: a pipe write wakes the
                    // child here (a sync wake-up expects the writer to sleep), and EEVDF lets a
                    // spinning task finish its slice first — ~0.8 ms stalls on 1–3 % of round
                    // trips until this yield (docs/performance.md).
                    sched_yield()
                    if ioEvents != seen {
                        seen = ioEvents
                        until = uv_hrtime() + budget
                    }
                } while uv_hrtime() < until
            }
            if uv_run(raw, UV_RUN_ONCE) == 0 { return }
        }
    }

    /// I/O events seen (bytes read from a stream, Redis replies and messages); busy polling
    /// goes on while they keep coming.
    public private(set) var ioEvents: UInt64 = 0

    /// Counts one I/O event (called by the stream and Redis layers on every delivery).
    public func noteIOEvent() { ioEvents &+= 1 }

    /// Runs one iteration without blocking (used by tests that drive the loop by hand).
    @discardableResult
    public func runOnce(block: Bool = false) -> Bool {
        uv_run(raw, block ? UV_RUN_ONCE : UV_RUN_NOWAIT) != 0
    }

    /// Makes `run()` (either form) return after the current iteration.
    public func stop() {
        stopRequested = true
        uv_stop(raw)
    }

    /// The loop's cached time in milliseconds (monotonic, updated once per iteration).
    public var nowMilliseconds: UInt64 { uv_now(raw) }

    /// Monotonic high-resolution time in nanoseconds.
    public static var hrtime: UInt64 { uv_hrtime() }

    /// Refreshes the cached loop time; useful after long synchronous work.
    public func updateTime() { uv_update_time(raw) }

    /// Closes every handle this module opened (for shutdown paths where stray handles would keep
    /// `run()` alive). Handles owned by C libraries (hiredis's polls) are left to their owners.
    public func closeAllHandles() {
        for box in Array(openHandles.values) { box.close() }
    }
}
