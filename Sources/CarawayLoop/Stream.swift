import CUV

/// A byte stream over a libuv `uv_stream_t` (TCP connection or pipe).
///
/// Reads deliver bytes that are valid only during the callback: copy what you keep.
/// Each write's completion fires exactly once (with an error if the stream closed first).
public class Stream: HandleBox {
    private var onRead: ((UnsafeRawBufferPointer) -> Void)?
    private var onEnd: ((LoopError?) -> Void)?
    private var readBuffer: UnsafeMutableRawPointer?
    private static let readBufferSize = 64 * 1024

    var stream: UnsafeMutablePointer<uv_stream_t> { handle.assumingMemoryBound(to: uv_stream_t.self) }

    /// Starts reading. `onEnd` fires once: with nil on EOF, or with the error.
    public func startReading(_ onRead: @escaping (UnsafeRawBufferPointer) -> Void,
                             onEnd: @escaping (LoopError?) -> Void) {
        guard !isClosed else { return }
        self.onRead = onRead
        self.onEnd = onEnd
        if readBuffer == nil { readBuffer = .allocate(byteCount: Stream.readBufferSize, alignment: 16) }
        let status = uv_read_start(stream, { handle, _, buf in
            guard let handle, let box = Stream.from(UnsafeMutableRawPointer(handle)), let base = box.readBuffer else { return }
            buf?.pointee = uv_buf_init(base.assumingMemoryBound(to: CChar.self), UInt32(Stream.readBufferSize))
        }, { stream, nread, _ in
            guard let stream, let box = Stream.from(UnsafeMutableRawPointer(stream)) else { return }
            if nread > 0, let base = box.readBuffer {
                box.owningLoop?.noteIOEvent()
                box.onRead?(UnsafeRawBufferPointer(start: base, count: nread))
            } else if nread < 0 {
                box.finishReading(nread == Int(UV_EOF.rawValue) ? nil : LoopError(code: Int32(nread), operation: "read"))
            }
        })
        if status < 0 { finishReading(LoopError(code: status, operation: "uv_read_start")) }
    }

    public func stopReading() {
        guard !isClosed else { return }
        uv_read_stop(stream)
    }

    private func finishReading(_ error: LoopError?) {
        uv_read_stop(stream)
        let end = onEnd
        onEnd = nil
        onRead = nil
        end?(error)
    }

    /// Bytes queued in libuv but not yet written to the kernel (backpressure signal).
    public var pendingWriteBytes: Int { isClosed ? 0 : stream.pointee.write_queue_size }

    /// Writes `bytes`. Completion (optional) fires exactly once.
    public func write(_ bytes: [UInt8], completion: ((LoopError?) -> Void)? = nil) {
        bytes.withUnsafeBytes { write($0, completion: completion) }
    }

    /// Writes a copy of `bytes`. Completion (optional) fires exactly once.
    public func write(_ bytes: UnsafeRawBufferPointer, completion: ((LoopError?) -> Void)? = nil) {
        guard !isClosed else {
            completion?(LoopError(code: Int32(UV_EPIPE.rawValue), operation: "write on closed stream"))
            return
        }
        if bytes.isEmpty { completion?(nil); return }
        // Fast path: most small writes go straight to the kernel without a request.
        var buf = uv_buf_init(UnsafeMutablePointer(mutating: bytes.baseAddress!.assumingMemoryBound(to: CChar.self)), UInt32(bytes.count))
        let written = Int(uv_try_write(stream, &buf, 1))
        if written == bytes.count { completion?(nil); return }
        let offset = max(written, 0)
        if written < 0 && written != Int(UV_EAGAIN.rawValue) {
            completion?(LoopError(code: Int32(written), operation: "write"))
            return
        }
        let request = WriteRequest(copying: UnsafeRawBufferPointer(rebasing: bytes[offset...]), completion: completion)
        let status = request.submit(on: stream)
        if status < 0 {
            request.release()
            completion?(LoopError(code: status, operation: "uv_write"))
        }
    }

    override func didClose() {
        onRead = nil
        let end = onEnd
        onEnd = nil
        end?(LoopError(code: Int32(UV_ECANCELED.rawValue), operation: "stream closed"))
    }

    deinit { readBuffer?.deallocate() }
}

/// One in-flight `uv_write_t` with its own copy of the bytes; freed in the write callback.
private final class WriteRequest {
    let request: UnsafeMutablePointer<uv_write_t>
    let storage: UnsafeMutableRawPointer
    let count: Int
    let completion: ((LoopError?) -> Void)?

    init(copying bytes: UnsafeRawBufferPointer, completion: ((LoopError?) -> Void)?) {
        request = .allocate(capacity: 1)
        count = bytes.count
        storage = .allocate(byteCount: max(count, 1), alignment: 1)
        storage.copyMemory(from: bytes.baseAddress!, byteCount: count)
        self.completion = completion
    }

    func submit(on stream: UnsafeMutablePointer<uv_stream_t>) -> Int32 {
        request.pointee.data = Unmanaged.passRetained(self).toOpaque()
        var buf = uv_buf_init(storage.assumingMemoryBound(to: CChar.self), UInt32(count))
        return uv_write(request, stream, &buf, 1) { req, status in
            guard let req, let data = req.pointee.data else { return }
            let box = Unmanaged<WriteRequest>.fromOpaque(data).takeRetainedValue()
            box.completion?(status < 0 ? LoopError(code: status, operation: "write") : nil)
        }
    }

    func release() { Unmanaged.passUnretained(self).release() }

    deinit {
        request.deallocate()
        storage.deallocate()
    }
}
