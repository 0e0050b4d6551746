import CCaraway
import CarawayProtocol
#if canImport(Glibc)
import Glibc
#endif

/// Runs `caraway.script` tasks: an executable from the configured scripts directory only.
///
/// No shell is involved and the name may not contain a path, so a message cannot run anything
/// outside the directory. Parameters travel as JSON in `SCRIPT_PARAMETERS`; stdout must be JSON
/// (the result); a non-zero exit is a failure carrying the end of stderr. Runs in a child
/// process, so the blocking waits here never touch the node's loop.
public struct ScriptRunner: Sendable {
    public static let defaultTimeout: Double = 300
    public static let directoryVariable = "CARAWAY_SCRIPTS_DIR"
    public let directory: String?

    public init(directory: String?) { self.directory = directory }

    static func fromEnvironment() -> ScriptRunner {
        ScriptRunner(directory: getenv(directoryVariable).map { String(cString: $0) })
    }

    /// A script name is a plain file name: letters, digits, `.`, `_`, `-`, not starting with `.`.
    public static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 255, !name.hasPrefix(".") else { return false }
        return name.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x5F || b == 0x2D
        }
    }

    public func run(name: String, parameters: JSON, executionID: String, timeout: Double) throws(TaskError) -> JSON {
        guard let directory, !directory.isEmpty else {
            throw TaskError(type: "ScriptError", message: "caraway.script is disabled: the node has no --scripts-dir")
        }
        guard Self.isValidName(name) else {
            throw TaskError(type: "ScriptError", message: "invalid script name '\(name)': use a plain file name from the scripts directory")
        }
        let path = directory + "/" + name
        guard access(path, X_OK) == 0 else {
            throw TaskError(type: "ScriptError", message: "script '\(name)' not found or not executable in \(directory)")
        }
        let environment = [
            "PATH=/usr/local/bin:/usr/bin:/bin",
            "LANG=C.UTF-8",
            "HOME=" + (getenv("HOME").map { String(cString: $0) } ?? "/"),
            "SCRIPT_PARAMETERS=" + parameters.serializedString(),
            "SCRIPT_NAME=" + name,
            "EXECUTION_ID=" + executionID,
        ]
        let outcome = try spawnAndCollect(path: path, environment: environment, timeout: timeout)
        if outcome.timedOut {
            throw TaskError(type: "ScriptTimeout", message: "script '\(name)' did not finish within \(timeout) s and was killed")
        }
        if outcome.status != 0 {
            let tail = String(decoding: outcome.stderr.suffix(2_000), as: UTF8.self)
            throw TaskError(type: "ScriptFailed", message: "script '\(name)' exited with status \(outcome.status): \(tail)")
        }
        let text = outcome.stdout.drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        if text.isEmpty { return .null }
        do {
            return try JSON.parse(Array(text))
        } catch {
            throw TaskError(type: "ScriptFailed", message: "script '\(name)' printed output that is not JSON: \(error)")
        }
    }

    private struct Outcome { var status: Int32; var stdout: [UInt8]; var stderr: [UInt8]; var timedOut: Bool }

    private func spawnAndCollect(path: String, environment: [String], timeout: Double) throws(TaskError) -> Outcome {
        var outPipe: [Int32] = [0, 0]
        var errPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
            throw TaskError(type: "ScriptError", message: "cannot create pipes: \(String(cString: strerror(errno)))")
        }
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(path), nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        let pid = caraway_spawn_script(path, argv, envp, outPipe[1], errPipe[1])
        let status: Int32 = pid < 0 ? errno : 0
        close(outPipe[1])
        close(errPipe[1])
        guard status == 0 else {
            close(outPipe[0]); close(errPipe[0])
            throw TaskError(type: "ScriptError", message: "cannot start script: \(String(cString: strerror(status)))")
        }
        var outcome = Outcome(status: 0, stdout: [], stderr: [], timedOut: false)
        var open = [outPipe[0], errPipe[0]]
        let deadline = monotonicSeconds() + timeout
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !open.isEmpty {
            let remaining = deadline - monotonicSeconds()
            if remaining <= 0 {
                outcome.timedOut = true
                kill(-pid, SIGKILL)
                break
            }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), Int32(min(remaining, 1) * 1000) + 1)
            if ready < 0 && errno != EINTR { break }
            for entry in fds where entry.revents != 0 {
                let n = read(entry.fd, &buffer, buffer.count)
                if n > 0 {
                    if entry.fd == outPipe[0] { outcome.stdout += buffer[..<n] } else { outcome.stderr += buffer[..<n] }
                    if outcome.stdout.count > 64 << 20 { outcome.timedOut = false; kill(-pid, SIGKILL) }
                } else if n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN) {
                    open.removeAll { $0 == entry.fd }
                }
            }
        }
        close(outPipe[0])
        close(errPipe[0])
        var waitStatus: Int32 = 0
        while waitpid(pid, &waitStatus, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS by hand: the macros do not import.
        if waitStatus & 0x7f == 0 {
            outcome.status = (waitStatus >> 8) & 0xff
        } else {
            outcome.status = 128 + (waitStatus & 0x7f)
        }
        return outcome
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
