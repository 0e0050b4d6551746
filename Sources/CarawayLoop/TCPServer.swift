import CUV
#if canImport(Glibc)
import Glibc
#endif

/// A listening TCP socket; hands each accepted connection to `onConnection`.
public final class TCPServer: HandleBox {
    private let loop: EventLoop
    private var onConnection: ((TCPStream) -> Void)?

    /// Binds to `host:port` (numeric IPv4 or IPv6 address; port 0 picks a free one) and listens.
    public init(loop: EventLoop, host: String, port: Int, backlog: Int32 = 511,
                onConnection: @escaping (TCPStream) -> Void) throws(LoopError) {
        self.loop = loop
        super.init(size: MemoryLayout<uv_tcp_t>.size, loop: loop)
        let tcp = handle.assumingMemoryBound(to: uv_tcp_t.self)
        try LoopError.check(uv_tcp_init(loop.raw, tcp), "uv_tcp_init")
        retainForLoop()
        self.onConnection = onConnection
        var storage = sockaddr_storage()
        let status: Int32 = withUnsafeMutablePointer(to: &storage) { ptr in
            if host.contains(":") {
                return ptr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { uv_ip6_addr(host, Int32(port), $0) }
            }
            return ptr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { uv_ip4_addr(host, Int32(port), $0) }
        }
        do {
            try LoopError.check(status, "parse address \(host)")
            try LoopError.check(withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_bind(tcp, $0, 0) }
            }, "tcp bind \(host):\(port)")
            try LoopError.check(uv_listen(handle.assumingMemoryBound(to: uv_stream_t.self), backlog) { server, status in
                guard status >= 0, let server, let box = TCPServer.from(UnsafeMutableRawPointer(server)) else { return }
                box.accept()
            }, "listen \(host):\(port)")
        } catch {
            close()
            throw error
        }
    }

    private func accept() {
        guard let client = try? TCPStream(loop: loop) else { return }
        if uv_accept(handle.assumingMemoryBound(to: uv_stream_t.self), client.stream) == 0 {
            onConnection?(client)
        } else {
            client.close()
        }
    }

    /// The bound port (useful after binding port 0).
    public var port: Int {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                uv_tcp_getsockname(handle.assumingMemoryBound(to: uv_tcp_t.self), $0, &length)
            }
        }
        if storage.ss_family == sa_family_t(AF_INET6) {
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) } }
        }
        return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) } }
    }

    override func didClose() { onConnection = nil }
}
