import Foundation

/// A private redis-server for one test: a temp dir, a free loopback port, no persistence.
/// Stopped (and its directory removed) by `stop()` or on deinit.
public final class TestRedisServer: @unchecked Sendable {
    public private(set) var port: Int = 0
    public let directory: URL
    private var pid: pid_t = 0

    public init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("caraway-redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Another process can take the free port between the probe and redis' bind (tests run in
        // parallel): then redis exits, and we try again on a fresh port.
        var lastError: Error?
        for _ in 0..<5 {
            port = try Self.freePort()
            // posix_spawn, not Foundation.Process: Process's exit monitoring hangs in test processes
            // that also run libuv loops.
            pid = try spawnProcess(Self.redisServerPath(), ["--port", String(port), "--bind", "127.0.0.1", "--save", "",
                                   "--appendonly", "no", "--dir", directory.path, "--daemonize", "no", "--loglevel", "warning"])
            do {
                try waitUntilAccepting()
                return
            } catch {
                lastError = error
                stopProcess()
            }
        }
        throw lastError!
    }

    private func stopProcess() {
        guard pid > 0 else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
    }

    public var url: String { "redis://127.0.0.1:\(port)/0" }

    public func stop() {
        stopProcess()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Restarts the server on the same port (used by reconnect tests).
    public func pause() { kill(pid, SIGSTOP) }
    public func resume() { kill(pid, SIGCONT) }

    deinit { stop() }

    private func waitUntilAccepting() throws {
        for _ in 0..<1_000 {
            if Self.canConnect(port: port) { return }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { pid = 0; break }   // exited: port taken
            usleep(10_000)
        }
        throw NSError(domain: "TestRedisServer", code: 1, userInfo: [NSLocalizedDescriptionKey: "redis-server did not start on port \(port)"])
    }

    static func redisServerPath() -> String {
        for path in ["/usr/bin/redis-server", "/usr/local/bin/redis-server"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        return "redis-server"
    }

    public static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// Asks the kernel for a free port by binding port 0.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

/// Starts `path` with `arguments`, stdout/stderr to /dev/null; returns its pid.
public func spawnProcess(_ path: String, _ arguments: [String], quiet: Bool = true) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if quiet {
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    }
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let status = posix_spawnp(&pid, path, &actions, nil, argv, environ)
    guard status == 0 else {
        throw NSError(domain: "spawn", code: Int(status), userInfo: [NSLocalizedDescriptionKey: "cannot start \(path): \(String(cString: strerror(status)))"])
    }
    return pid
}
