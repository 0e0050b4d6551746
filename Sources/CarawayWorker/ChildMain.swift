import CCaraway
import CarawayProtocol
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The child side of the pool: the same binary started with `CARAWAY_CHILD=1`, reading requests
/// from fd 3 and answering on fd 4 (``ChildChannel``), one task at a time.
///
/// Blocking reads are fine here (a child has no loop to stall). The child dies with its parent
/// (PR_SET_PDEATHSIG) and exits on EOF, so an orphan never keeps running tasks.
public enum ChildMain {
    public static let environmentFlag = "CARAWAY_CHILD"
    /// Requests arrive here (a pipe from the node).
    static let requests: Int32 = 3
    /// Replies go here (a pipe to the node).
    static let replies: Int32 = 4

    /// True when this process was started as a pool child.
    public static var isChild: Bool { getenv(environmentFlag) != nil }

    public static func run(registry: TaskRegistry, logger: Logger) -> Never {
        if caraway_die_with_parent() != 0 { exit(0) }
        caraway_install_soft_limit_handler()
        // Ctrl-C in a terminal signals the whole process group: the node decides, not the child.
        signal(SIGINT, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        guard write(ChildReply.ready(pid: Int(getpid())).encoded()) else { exit(0) }
        var decoder = FrameDecoder()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(requests, &buffer, buffer.count)
            if n == 0 { exit(0) }
            if n < 0 {
                if errno == EINTR { continue }
                exit(0)
            }
            let frames: [[UInt8]]
            do {
                frames = try buffer.withUnsafeBytes { try decoder.feed(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            } catch {
                logger.error("child.bad_frame", metadata: ["error": "\(error)"])
                exit(2)
            }
            for frame in frames {
                let reply = execute(frame, registry: registry, logger: logger)
                guard write(reply.encoded()) else { exit(0) }
            }
        }
    }

    static func execute(_ frame: [UInt8], registry: TaskRegistry, logger: Logger) -> ChildReply {
        let started = monotonicSeconds()
        let request: ChildRequest
        do {
            request = try ChildRequest(decoding: frame)
        } catch {
            return .failure(TaskError(type: "InvalidTaskError", message: "child could not decode the request: \(error)"),
                            traceback: nil, runtime: 0, rssKiB: maxRSS())
        }
        guard let entry = registry.entry(request.task) else {
            return .failure(TaskError(type: "NotRegistered", message: "'\(request.task)'", module: "celery.exceptions"),
                            traceback: nil, runtime: 0, rssKiB: maxRSS())
        }
        caraway_reset_soft_limit_flag()
        let context = TaskContext(id: request.id, name: request.task, retries: request.retries, queue: request.queue,
                                  rootID: request.rootID, parentID: request.parentID, deliveries: request.deliveries,
                                  softTimeLimit: request.softTimeLimit, logger: logger)
        do {
            let result = try entry.handler(context, request.args, request.kwargs)
            return .success(result: result, runtime: monotonicSeconds() - started, rssKiB: maxRSS())
        } catch let retry as TaskRetry {
            return .retry(retry, runtime: monotonicSeconds() - started, rssKiB: maxRSS())
        } catch let error as TaskError {
            return .failure(error, traceback: "Traceback: \(error) in \(request.task)", runtime: monotonicSeconds() - started, rssKiB: maxRSS())
        } catch {
            let failure = TaskError(type: String(describing: type(of: error)), message: String(describing: error))
            return .failure(failure, traceback: "Traceback: \(failure) in \(request.task)", runtime: monotonicSeconds() - started, rssKiB: maxRSS())
        }
    }

    private static func write(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(replies, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }

    /// Peak resident set size of this process in KiB (Linux reports ru_maxrss in KiB).
    static func maxRSS() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss)
    }
}
