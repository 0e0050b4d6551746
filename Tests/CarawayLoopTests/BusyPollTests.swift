import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import CarawayLoop

/// `EventLoop.run(busyPollingWhile:budget:)`: the same callbacks as `run()`; polls only after a
/// wake-up while busy, and only until `budget` passes without an I/O event.
@Suite struct BusyPollTests {
    /// CPU time this thread has used, in milliseconds.
    static func threadCPUMilliseconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) * 1000 + Double(t.tv_nsec) / 1e6
    }

    @Test func runsTimersAndExitsWhenNoHandleRemains() throws {
        let loop = try EventLoop()
        var fired = 0
        let timer = LoopTimer(loop: loop)
        timer.start(after: 1, repeat: 1) {
            fired += 1
            if fired == 5 { timer.close() }
        }
        loop.run(busyPollingWhile: { true }, budget: 200_000)
        #expect(fired == 5)
    }

    @Test func stopReturnsWhilePolling() throws {
        let loop = try EventLoop()
        let keepAlive = LoopTimer(loop: loop)
        keepAlive.start(after: 60_000) {}
        LoopTimer.once(loop: loop, after: 5) { loop.stop() }
        let started = EventLoop.hrtime
        loop.run(busyPollingWhile: { true }, budget: 10_000_000_000)
        #expect(EventLoop.hrtime - started < 5_000_000_000)
        keepAlive.close()
    }

    @Test func sleepsWhenNotBusy() throws {
        let loop = try EventLoop()
        let keepAlive = LoopTimer(loop: loop)
        keepAlive.start(after: 100) { keepAlive.close() }
        let cpu = Self.threadCPUMilliseconds()
        loop.run(busyPollingWhile: { false }, budget: 1_000_000_000)
        #expect(Self.threadCPUMilliseconds() - cpu < 50)  // a 100 ms wait spent asleep
    }

    @Test func pollsForOneBudgetAfterAWakeUpWhileBusyThenSleeps() throws {
        let loop = try EventLoop()
        LoopTimer.once(loop: loop, after: 1) {}
        let keepAlive = LoopTimer(loop: loop)
        keepAlive.start(after: 300) { keepAlive.close() }
        let cpu = Self.threadCPUMilliseconds()
        // Budget 40 ms after each wake-up, no I/O events: ~80 ms of polling (start, the 1 ms
        // timer's wake-up), then sleep until 300 ms.
        loop.run(busyPollingWhile: { true }, budget: 40_000_000)
        let used = Self.threadCPUMilliseconds() - cpu
        #expect(used > 30)
        #expect(used < 250)
    }

    @Test func ioEventsExtendThePolling() throws {
        let loop = try EventLoop()
        var events = 0
        let ticker = LoopTimer(loop: loop)
        ticker.start(after: 5, repeat: 5) {
            loop.noteIOEvent()  // stands in for a reply arriving every 5 ms
            events += 1
            if events == 20 { ticker.close() }
        }
        let cpu = Self.threadCPUMilliseconds()
        loop.run(busyPollingWhile: { true }, budget: 20_000_000)
        // Replies every 5 ms against a 20 ms budget: polled throughout the ~100 ms.
        #expect(Self.threadCPUMilliseconds() - cpu > 60)
        #expect(loop.ioEvents == 20)
    }

    /// This thread's CPU list as the kernel prints it (e.g. `0-1`), to restore after pinning.
    static func allowedCPUs() -> String? {
        guard let file = fopen("/proc/thread-self/status", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(cString: line)
            if text.hasPrefix("Cpus_allowed_list:") {
                return String(text.dropFirst("Cpus_allowed_list:".count).filter { !$0.isWhitespace })
            }
        }
        return nil
    }

    /// Sets the CPU list of thread `tid` with taskset(1), waiting for it on a loop of its own.
    static func taskset(_ tid: String, _ cpus: String) throws {
        let loop = try EventLoop()
        var status: Int64 = -1
        let process = try ChildProcess(loop: loop, executable: "/usr/bin/taskset", arguments: ["-pc", cpus, tid],
                                       environment: nil) { exit, _ in status = exit }
        process.channel.close()
        while status < 0 { loop.runOnce(block: true) }
        process.close()
        loop.runOnce()
        #expect(status == 0)
    }

    /// The spin yields: pinned to one CPU with a CPU-bound process, a polling loop that yields
    /// gets a sliver of that CPU (it gives way each time it is scheduled), where one that did
    /// not would take its fair half. This is what lets the child, Redis and the caller run the
    /// moment they are woken onto the node's CPU (round-trip p99 0.78 → 0.41 ms, performance.md).
    @Test func pollingGivesWayToARunnableProcessOnItsCPU() throws {
        // Glibc's affinity calls need _GNU_SOURCE, which Swift's module does not define: taskset.
        var link = [CChar](repeating: 0, count: 64)
        let length = readlink("/proc/thread-self", &link, link.count - 1)
        #expect(length > 0)
        let thread = String(cString: link).split(separator: "/").last.map(String.init) ?? ""
        let allowed = try #require(Self.allowedCPUs(), "Cpus_allowed_list in /proc/thread-self/status")
        let first = String(allowed.prefix { $0.isNumber })
        try Self.taskset(thread, first)
        defer { try? Self.taskset(thread, allowed) }

        let loop = try EventLoop()
        // Spawned from this thread, the hog inherits the single-CPU affinity. Its handle is closed
        // only from the exit callback, after libuv has reaped it: a zombie left behind makes
        // swift-testing's child-wait thread spin and the test process never exit.
        var exited: ChildProcess?
        let hog = try ChildProcess(loop: loop, executable: "/bin/sh", arguments: ["-c", "while :; do :; done"],
                                   environment: nil) { _, _ in exited?.close(); exited = nil }
        exited = hog
        hog.channel.close()
        let wall = EventLoop.hrtime
        let cpu = Self.threadCPUMilliseconds()
        LoopTimer.once(loop: loop, after: 200) { hog.kill(9) }
        loop.run(busyPollingWhile: { true }, budget: 10_000_000_000)
        let used = Self.threadCPUMilliseconds() - cpu
        let elapsed = Double(EventLoop.hrtime - wall) / 1e6
        #expect(used < elapsed * 0.25, "the polling loop used \(used) ms of CPU in \(elapsed) ms beside a CPU hog")
    }
}
