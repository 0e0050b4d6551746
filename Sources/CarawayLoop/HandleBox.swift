import CUV

/// Base of every libuv handle wrapper: owns the heap memory of one `uv_handle_t` and
/// keeps the Swift object alive from `init` until libuv's close callback has run.
///
/// libuv forbids freeing a handle before its close callback (design.rst), so `handle.data`
/// holds a retained reference; `close()` is idempotent and releases it in the callback.
public class HandleBox {
    let handle: UnsafeMutableRawPointer
    private let size: Int
    private(set) public var isClosed = false
    private var onClose: (() -> Void)?

    private weak var loop: EventLoop?
    /// The loop this handle belongs to (for event accounting by subclasses).
    var owningLoop: EventLoop? { loop }

    init(size: Int, loop: EventLoop) {
        self.size = size
        self.loop = loop
        handle = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        handle.initializeMemory(as: UInt8.self, repeating: 0, count: size)
    }

    /// Call right after the successful uv_*_init: from then on a close is owed.
    func retainForLoop() {
        uvHandle.pointee.data = Unmanaged.passRetained(self).toOpaque()
        loop?.openHandles[ObjectIdentifier(self)] = self
    }

    var uvHandle: UnsafeMutablePointer<uv_handle_t> { handle.assumingMemoryBound(to: uv_handle_t.self) }

    /// Closes the handle; `then` runs once libuv has released it. Safe to call twice.
    public func close(then: (() -> Void)? = nil) {
        guard !isClosed else { then?(); return }
        isClosed = true
        willClose()
        onClose = then
        guard uvHandle.pointee.data != nil else { return }
        uv_close(uvHandle) { handle in
            guard let handle, let data = handle.pointee.data else { return }
            handle.pointee.data = nil
            let box = Unmanaged<HandleBox>.fromOpaque(data).takeRetainedValue()
            box.loop?.openHandles[ObjectIdentifier(box)] = nil
            let hook = box.onClose
            box.onClose = nil
            box.didClose()
            hook?()
        }
    }

    /// Keeps the loop from exiting while this handle is active (default), or not.
    public func setKeepsLoopAlive(_ keep: Bool) {
        if keep { uv_ref(uvHandle) } else { uv_unref(uvHandle) }
    }

    /// Subclass hook: stop timers/reads before closing.
    func willClose() {}
    /// Subclass hook: drop callbacks so closures (and what they capture) are released.
    func didClose() {}

    deinit { handle.deallocate() }

    static func from(_ raw: UnsafeMutableRawPointer?) -> Self? {
        guard let raw, let data = raw.assumingMemoryBound(to: uv_handle_t.self).pointee.data else { return nil }
        return Unmanaged<HandleBox>.fromOpaque(data).takeUnretainedValue() as? Self
    }
}
