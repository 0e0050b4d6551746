import Foundation

/// A private PostgreSQL server for one test: its own data directory, a free loopback port,
/// trust authentication, no fsync. Stopped (and its directory removed) by `stop()` or on deinit.
///
/// PostgreSQL refuses to run as root, so under root the server runs as the `postgres` OS user
/// (or a `caraway-pg` system user created on first use). `initdb` runs once per test process
/// into a template directory that each server copies: on a quiet 2-core machine the first
/// server takes ≈0.9 s, later ones ≈0.2 s, `restart()` ≈0.07 s (under load, 3–4× that). The
/// template is removed when the process exits. Binaries come from `$CARAWAY_PG_BINDIR`,
/// `pg_config --bindir`, or /usr/lib/postgresql/<newest>/bin.
///
/// Processes are started with posix_spawn, not Foundation.Process, whose exit monitoring hangs
/// in test processes that also run libuv loops.
public final class TestPostgresServer: @unchecked Sendable {
    public let port: Int
    public let directory: URL
    private let setup: Setup
    /// The process we spawned: the postmaster itself (setpriv execs), or runuser's (it forks).
    private var pid: pid_t = 0

    public init() throws {
        setup = try Setup.shared.get()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("caraway-pg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if let account = setup.account { chown(directory.path, account.uid, account.gid) }
        do {
            try runToCompletion(["cp", "-a", setup.template, directory.appendingPathComponent("data").path],
                                log: directory.appendingPathComponent("server.log").path, in: directory.path)
            port = try TestRedisServer.freePort()
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        do {
            try start()
        } catch {
            stop()
            throw error
        }
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`
    public var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }

    private var dataDirectory: String { directory.appendingPathComponent("data").path }
    private var logPath: String { directory.appendingPathComponent("server.log").path }

    /// Fast shutdown (SIGINT), SIGKILL after 5 s, then removes the directory. Idempotent.
    public func stop() {
        shutDown()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Freezes the server and all its backends (SIGSTOP): connections stay open but nothing
    /// answers, and new connections hang in the handshake.
    public func pause() { signalServer(SIGSTOP) }
    public func resume() { signalServer(SIGCONT) }

    /// Shuts the server down (fast: sessions are terminated) and starts it again on the same
    /// port with the same data. Blocks until it accepts connections again.
    public func restart() throws {
        shutDown()
        try start()
    }

    /// The server's log so far (for failure messages).
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    deinit { stop() }

    private func start() throws {
        let arguments = ["\(setup.bindir)/postgres", "-D", dataDirectory, "-p", String(port), "-k", directory.path,
                         "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off",
                         "-c", "synchronous_commit=off", "-c", "shared_buffers=16MB", "-c", "max_connections=40"]
        pid = try spawnLogged(setup.asServerUser(arguments), log: logPath, in: directory.path)
        try waitUntilReady()
    }

    /// Ready when postmaster.pid says so (line 8) and the port accepts: before that, clients get
    /// "the database system is starting up".
    private func waitUntilReady() throws {
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                pid = 0
                throw TestPostgresServerError("postgres exited during startup (status \(status)); its log:\n\(log)")
            }
            if postmasterStatus() == "ready", TestRedisServer.canConnect(port: port) { return }
            usleep(10_000)
        }
        throw TestPostgresServerError("postgres did not become ready on port \(port) within 15 s; its log:\n\(log)")
    }

    private func postmasterLines() -> [Substring] {
        let text = (try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    private func postmasterStatus() -> String? {
        let lines = postmasterLines()
        return lines.count > 7 ? lines[7].trimmingCharacters(in: .whitespaces) : nil
    }

    /// The postmaster's pid: `pid` itself, or its child when runuser forked it. A pid from a
    /// stale postmaster.pid that is neither is not ours to signal.
    private var postmasterPID: pid_t? {
        guard pid > 0, let recorded = postmasterLines().first.flatMap({ pid_t($0.trimmingCharacters(in: .whitespaces)) })
        else { return nil }
        return recorded == pid || Self.children(of: pid).contains(recorded) ? recorded : nil
    }

    private func signalServer(_ signal: Int32) {
        guard pid > 0, let master = postmasterPID else { return }
        // Backends are not in the postmaster's process group (each calls setsid), so signal
        // the postmaster and its children one by one.
        kill(master, signal)
        for child in Self.children(of: master) { kill(child, signal) }
    }

    private func shutDown() {
        guard pid > 0 else { return }
        let master = postmasterPID ?? pid
        signalServer(SIGCONT)  // a stopped server cannot shut down
        kill(master, SIGINT)   // fast shutdown: terminate sessions, checkpoint, exit
        let deadline = Date().addingTimeInterval(5)
        var status: Int32 = 0
        while Date() < deadline {
            if waitpid(pid, &status, WNOHANG) == pid {
                pid = 0
                return
            }
            usleep(5_000)
        }
        let children = Self.children(of: master)
        kill(master, SIGKILL)
        for child in children { kill(child, SIGKILL) }
        if pid != master { kill(pid, SIGKILL) }
        waitpid(pid, &status, 0)
        pid = 0
    }

    /// Direct children of `parent`, from /proc/<pid>/stat (field 4 is the parent's pid).
    static func children(of parent: pid_t) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> pid_t? in
            guard let child = pid_t(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == parent ? child : nil
        }
    }
}

/// What every server of this process shares: binaries, the OS account, the initdb template.
private struct Setup: Sendable {
    struct Account: Sendable {
        let name: String
        let uid: uid_t
        let gid: gid_t
    }

    let bindir: String
    /// Who runs the servers when we are root; nil when we are not (then we run them ourselves).
    let account: Account?
    /// A data directory fresh from initdb, copied by each server.
    let template: String

    static let shared: Result<Setup, TestPostgresServerError> = {
        do {
            let setup = try Setup()
            atexit { Setup.removeTemplate() }
            return .success(setup)
        } catch let error as TestPostgresServerError {
            return .failure(error)
        } catch {
            return .failure(TestPostgresServerError("\(error)"))
        }
    }()

    private init() throws {
        bindir = try Self.findBinDirectory()
        account = try Self.findAccount()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("caraway-pg-template-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        if let account { chown(root.path, account.uid, account.gid) }
        template = root.appendingPathComponent("data").path
        let log = root.appendingPathComponent("initdb.log").path
        let initdb = ["\(bindir)/initdb", "-D", template, "--auth=trust", "-U", "postgres", "--no-sync",
                      "-E", "UTF8", "--locale=C"]
        try runToCompletion(asServerUser(initdb, account: account), log: log, in: root.path)
    }

    private static func removeTemplate() {
        guard case .success(let setup) = shared else { return }
        try? FileManager.default.removeItem(atPath: (setup.template as NSString).deletingLastPathComponent)
    }

    func asServerUser(_ arguments: [String]) -> [String] { asServerUser(arguments, account: account) }

    /// Prefixes `arguments` so they run as `account`. setpriv execs (the pid we get is the
    /// server's); runuser forks and forwards signals badly, so it is only the fallback.
    func asServerUser(_ arguments: [String], account: Account?) -> [String] {
        guard let account else { return arguments }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") {
            return ["/usr/bin/setpriv", "--reuid=\(account.uid)", "--regid=\(account.gid)", "--init-groups", "--"] + arguments
        }
        return ["runuser", "-u", account.name, "--"] + arguments
    }

    private static func findBinDirectory() throws -> String {
        var candidates: [String] = []
        if let dir = ProcessInfo.processInfo.environment["CARAWAY_PG_BINDIR"] { candidates.append(dir) }
        if let dir = try? capture(["pg_config", "--bindir"]) { candidates.append(dir) }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        candidates += versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.map { "/usr/lib/postgresql/\($0)/bin" }
        candidates += ["/usr/local/bin", "/usr/bin"]
        for dir in candidates where FileManager.default.isExecutableFile(atPath: "\(dir)/initdb")
            && FileManager.default.isExecutableFile(atPath: "\(dir)/postgres") {
            return dir
        }
        throw TestPostgresServerError("PostgreSQL server binaries (initdb, postgres) not found; install the postgresql package "
                         + "or set CARAWAY_PG_BINDIR (searched \(candidates.joined(separator: ", ")))")
    }

    private static func findAccount() throws -> Account? {
        guard geteuid() == 0 else { return nil }
        if let account = lookUp("postgres") ?? lookUp("caraway-pg") { return account }
        let created = Result { try runToCompletion(["useradd", "--system", "--no-create-home", "caraway-pg"], log: "/dev/null", in: "/") }
        // Another test process may have created it meanwhile: look again before failing.
        if let account = lookUp("caraway-pg") { return account }
        if case .failure(let error) = created { throw error }
        throw TestPostgresServerError("cannot find or create an unprivileged user to run postgres as (PostgreSQL refuses root)")
    }

    private static func lookUp(_ name: String) -> Account? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return Account(name: name, uid: entry.pw_uid, gid: entry.pw_gid)
    }

    /// Runs `arguments` and returns its first line of output, trimmed.
    private static func capture(_ arguments: [String]) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("caraway-pg-\(UUID().uuidString).out").path
        defer { unlink(file) }
        try runToCompletion(arguments, log: file, in: "/")
        let text = try String(contentsOfFile: file, encoding: .utf8)
        return text.split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }
}

/// Why a test server could not be set up or started; the description includes the log tail.
public struct TestPostgresServerError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `arguments` to completion, output appended to `log`; throws with the log's tail unless
/// it exits with status 0.
private func runToCompletion(_ arguments: [String], log: String, in directory: String) throws {
    let pid = try spawnLogged(arguments, log: log, in: directory)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    // Exited normally (low 7 bits 0) with code 0 (next 8 bits).
    guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        throw TestPostgresServerError("\(arguments.joined(separator: " ")) failed (wait status \(status)):\n\(output.suffix(2_000))")
    }
}

/// Like `spawnProcess`, but stdout and stderr go to `log` (postgres logs on stderr, which would
/// flood the test output) and the child starts in `directory` (the server user cannot enter
/// root's working directory).
private func spawnLogged(_ arguments: [String], log: String, in directory: String) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    // env execs, so the pid stays the command's (posix_spawn_file_actions_addchdir_np does not import).
    let command = ["/usr/bin/env", "-C", directory] + arguments
    let argv = command.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let status = posix_spawnp(&pid, command[0], &actions, nil, argv, environ)
    guard status == 0 else {
        throw TestPostgresServerError("cannot start \(arguments[0]): \(String(cString: strerror(status)))")
    }
    return pid
}
