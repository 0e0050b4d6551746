import CUV
#if canImport(Glibc)
import Glibc
#endif

/// One TCP connection: accepted by a ``TCPServer`` or opened with ``connect(loop:host:port:_:)``.
public final class TCPStream: Stream {
    init(loop: EventLoop) throws(LoopError) {
        super.init(size: MemoryLayout<uv_tcp_t>.size, loop: loop)
        try LoopError.check(uv_tcp_init(loop.raw, handle.assumingMemoryBound(to: uv_tcp_t.self)), "uv_tcp_init")
        retainForLoop()
    }

    /// Disables Nagle's algorithm so small responses leave at once.
    public func setNoDelay(_ on: Bool) {
        uv_tcp_nodelay(handle.assumingMemoryBound(to: uv_tcp_t.self), on ? 1 : 0)
    }

    /// Opens a connection to a numeric IPv4 address. `completion` fires exactly once, on the loop:
    /// with the stream, or with the error (the half-made stream is closed for you).
    public static func connect(loop: EventLoop, host: String, port: Int,
                               _ completion: @escaping (Result<TCPStream, LoopError>) -> Void) {
        let stream: TCPStream
        do { stream = try TCPStream(loop: loop) } catch { completion(.failure(error)); return }
        var address = sockaddr_in()
        let parsed = uv_ip4_addr(host, Int32(port), &address)
        guard parsed == 0 else {
            stream.close()
            completion(.failure(LoopError(code: parsed, operation: "parse address \(host)")))
            return
        }
        let request = ConnectRequest(stream: stream, completion: completion)
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { request.submit(address: $0) }
        }
        if status < 0 {
            request.release()
            stream.close()
            completion(.failure(LoopError(code: status, operation: "connect \(host):\(port)")))
        }
    }
}

/// One in-flight `uv_connect_t`; freed in its callback.
private final class ConnectRequest {
    let request: UnsafeMutablePointer<uv_connect_t> = .allocate(capacity: 1)
    let stream: TCPStream
    let completion: (Result<TCPStream, LoopError>) -> Void

    init(stream: TCPStream, completion: @escaping (Result<TCPStream, LoopError>) -> Void) {
        self.stream = stream
        self.completion = completion
    }

    func submit(address: UnsafePointer<sockaddr>) -> Int32 {
        request.pointee.data = Unmanaged.passRetained(self).toOpaque()
        return uv_tcp_connect(request, stream.handle.assumingMemoryBound(to: uv_tcp_t.self), address) { req, status in
            guard let req, let data = req.pointee.data else { return }
            let box = Unmanaged<ConnectRequest>.fromOpaque(data).takeRetainedValue()
            if status < 0 {
                box.stream.close()
                box.completion(.failure(LoopError(code: status, operation: "connect")))
            } else {
                box.completion(.success(box.stream))
            }
        }
    }

    func release() { Unmanaged.passUnretained(self).release() }

    deinit { request.deallocate() }
}
