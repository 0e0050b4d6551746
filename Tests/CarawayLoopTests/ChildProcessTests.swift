import Testing
@testable import CarawayLoop
#if canImport(Glibc)
import Glibc
#endif

@Suite struct ChildProcessTests {
    @Test func aChildEchoesBytesOverFdThreeAndItsExitIsReportedOnce() throws {
        let loop = try EventLoop()
        var received: [UInt8] = []
        var exits: [(Int64, Int32)] = []
        // `cat <&3 >&3` echoes fd 3 back to us until EOF.
        let child = try ChildProcess(loop: loop, executable: "/bin/sh", arguments: ["-c", "cat <&3 >&3"], environment: nil) { status, signal in
            exits.append((status, signal))
        }
        child.channel.startReading({ bytes in
            received += bytes
            if received.count >= 5 { child.channel.close() }
        }, onEnd: { _ in })
        child.channel.write(Array("hello".utf8))
        loop.run()
        #expect(String(decoding: received, as: UTF8.self) == "hello")
        #expect(exits.count == 1)
        #expect(exits.first?.0 == 0)
        child.close()
    }

    @Test func killingAChildReportsTheSignal() throws {
        let loop = try EventLoop()
        var signal: Int32 = 0
        let child = try ChildProcess(loop: loop, executable: "/bin/sleep", arguments: ["30"], environment: nil) { _, sig in
            signal = sig
        }
        #expect(child.pid > 0)
        LoopTimer.once(loop: loop, after: 20) { child.kill(SIGKILL) }
        child.channel.close()
        loop.run()
        #expect(signal == SIGKILL)
        #expect(child.kill(SIGKILL) == false, "a dead child cannot be signalled again")
        child.close()
    }

    @Test func spawningAMissingExecutableThrowsALoopError() throws {
        let loop = try EventLoop()
        #expect(throws: LoopError.self) {
            _ = try ChildProcess(loop: loop, executable: "/definitely/not/here", arguments: [], environment: nil) { _, _ in }
        }
        loop.run()
    }
}

@Suite struct SignalAndPollTests {
    @Test func aSignalWatcherSeesARaisedSignal() throws {
        let loop = try EventLoop()
        var seen: Int32 = 0
        var watcher: SignalWatcher?
        let deadline = LoopTimer.once(loop: loop, after: 2_000) { watcher?.close() }
        watcher = try SignalWatcher(loop: loop, signal: SIGUSR2) { number in
            seen = number
            watcher?.close()
            deadline.close()
        }
        LoopTimer.once(loop: loop, after: 1) { kill(getpid(), SIGUSR2) }
        loop.run()
        #expect(seen == SIGUSR2)
    }

    @Test func aPollReportsAReadableDescriptor() throws {
        let loop = try EventLoop()
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let poll = try Poll(loop: loop, fileDescriptor: fds[0])
        var events: Poll.Events = []
        try poll.start(.readable) { result in
            if case .success(let e) = result { events = e }
            poll.close()
        }
        _ = write(fds[1], "x", 1)
        loop.run()
        #expect(events.contains(.readable))
    }

    @Test func closeAllHandlesLetsRunReturn() throws {
        let loop = try EventLoop()
        let timer = LoopTimer(loop: loop)
        timer.start(after: 10_000) {}
        LoopTimer.once(loop: loop, after: 1) { loop.closeAllHandles() }
        loop.run()
        #expect(timer.isClosed)
    }
}
