import Testing
@testable import CarawayLoop
#if canImport(Glibc)
import Glibc
#endif

@Suite struct ChildProcessTests {
    @Test func aChildEchoesBytesFromFdThreeToFdFourAndItsExitIsReportedOnce() throws {
        let loop = try EventLoop()
        var received: [UInt8] = []
        var exits: [(Int64, Int32)] = []
        // `cat <&3 >&4` echoes the request pipe into the reply pipe until EOF.
        let child = try ChildProcess(loop: loop, executable: "/bin/sh", arguments: ["-c", "cat <&3 >&4"], environment: nil) { status, signal in
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

    @Test func theChannelIsTwoPlainPipes() throws {
        let loop = try EventLoop()
        var received: [UInt8] = []
        let child = try ChildProcess(loop: loop, executable: "/bin/sh", arguments: ["-c", "if [ -p /dev/fd/3 ] && [ -p /dev/fd/4 ]; then echo pipes >&4; else echo other >&4; fi"],
                                     environment: nil) { _, _ in }
        var ended = false
        var timedOut = false
        child.channel.startReading({ received += $0 }, onEnd: { _ in ended = true })
        let deadline = LoopTimer.once(loop: loop, after: 3_000) { timedOut = true }
        while !ended && !timedOut { _ = loop.runOnce(block: true) }
        #expect(String(decoding: received, as: UTF8.self) == "pipes\n")
        #expect(ended, "no EOF once the child exited")
        deadline.close()
        child.channel.close()
        while !child.hasExited { _ = loop.runOnce(block: true) }
        child.close()
        loop.run()
    }

    /// A dead child's reply pipe reads EOF while its siblings live: no other process (a later
    /// sibling included) holds a copy of its write end.
    @Test func aChildsRepliesEndWhenItDiesEvenWithSiblingsAlive() throws {
        let loop = try EventLoop()
        var ended: [String] = []
        var timedOut = false
        let first = try ChildProcess(loop: loop, executable: "/bin/sleep", arguments: ["30"], environment: nil) { _, _ in }
        let second = try ChildProcess(loop: loop, executable: "/bin/sleep", arguments: ["30"], environment: nil) { _, _ in }
        first.channel.startReading({ _ in }, onEnd: { error in ended.append(error == nil ? "eof" : "error") })
        let deadline = LoopTimer.once(loop: loop, after: 3_000) { timedOut = true }
        LoopTimer.once(loop: loop, after: 20) { first.kill(SIGKILL) }
        while ended.isEmpty && !timedOut { _ = loop.runOnce(block: true) }
        #expect(ended == ["eof"])
        #expect(!timedOut, "the dead child's reply pipe never reached EOF: someone else holds its write end")
        deadline.close()
        second.kill(SIGKILL)
        first.channel.close()
        second.channel.close()
        while !first.hasExited || !second.hasExited { _ = loop.runOnce(block: true) }
        first.close()
        second.close()
        loop.run()
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
