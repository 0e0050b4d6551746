import CUV
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `uv_spawn`, with a message channel on its fds 3 and 4.
///
/// stdin is closed, stdout and stderr are inherited (children log where the node logs); the
/// child reads Caraway's framed requests from fd 3 and writes its replies to fd 4
/// (``ChildChannel``). `onExit` fires exactly once.
public final class ChildProcess: HandleBox {
    /// The node's ends of the child's fds 3 (requests) and 4 (replies).
    public let channel: ChildChannel
    /// The child's process id.
    public private(set) var pid: Int32 = 0
    private var onExit: ((_ status: Int64, _ signal: Int32) -> Void)?
    public private(set) var hasExited = false

    /// Spawns `executable` with `arguments` (argv[1...]) and `environment` ("KEY=VALUE"; nil inherits).
    /// `argv0` is what `ps` shows (default: `executable`).
    public init(loop: EventLoop, executable: String, argv0: String? = nil, arguments: [String], environment: [String]?,
                onExit: @escaping (_ status: Int64, _ signal: Int32) -> Void) throws(LoopError) {
        channel = try ChildChannel(loop: loop)
        super.init(size: MemoryLayout<uv_process_t>.size, loop: loop)
        self.onExit = onExit

        let argv = ([argv0 ?? executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup($0) } + [nil] }
        defer {
            argv.forEach { free($0) }
            envp?.forEach { free($0) }
        }
        var stdio = [uv_stdio_container_t](repeating: uv_stdio_container_t(), count: 5)
        stdio[0].flags = UV_IGNORE
        stdio[1].flags = UV_INHERIT_FD
        stdio[1].data.fd = 1
        stdio[2].flags = UV_INHERIT_FD
        stdio[2].data.fd = 2
        stdio[3].flags = UV_INHERIT_FD
        stdio[3].data.fd = channel.childRequests
        stdio[4].flags = UV_INHERIT_FD
        stdio[4].data.fd = channel.childReplies

        let status: Int32 = argv.withUnsafeBufferPointer { argvBuffer in
            stdio.withUnsafeMutableBufferPointer { stdioBuffer in
                var options = uv_process_options_t()
                options.file = UnsafePointer(argvBuffer[0])
                options.args = UnsafeMutablePointer(mutating: argvBuffer.baseAddress)
                options.stdio_count = 5
                options.stdio = stdioBuffer.baseAddress
                options.exit_cb = { process, status, signal in
                    guard let process, let box = ChildProcess.from(UnsafeMutableRawPointer(process)) else { return }
                    box.hasExited = true
                    let hook = box.onExit
                    box.onExit = nil
                    hook?(status, signal)
                }
                if let envp {
                    return envp.withUnsafeBufferPointer { envBuffer in
                        options.env = UnsafeMutablePointer(mutating: envBuffer.baseAddress)
                        return uv_spawn(loop.raw, handle.assumingMemoryBound(to: uv_process_t.self), &options)
                    }
                }
                return uv_spawn(loop.raw, handle.assumingMemoryBound(to: uv_process_t.self), &options)
            }
        }
        channel.closeChildEnds()
        if status < 0 {
            // A failed uv_spawn still initialised the handle: it must be closed, and its memory
            // kept until the close callback, like any other handle.
            retainForLoop()
            close()
            channel.close()
            throw LoopError(code: status, operation: "spawn \(executable)")
        }
        retainForLoop()
        pid = handle.assumingMemoryBound(to: uv_process_t.self).pointee.pid
    }

    /// Sends `signal` to the child. Returns false if it is already gone.
    @discardableResult
    public func kill(_ signal: Int32) -> Bool {
        guard !hasExited, !isClosed else { return false }
        return uv_process_kill(handle.assumingMemoryBound(to: uv_process_t.self), signal) == 0
    }

    override func didClose() { onExit = nil }
}
