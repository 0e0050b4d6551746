import CUV

/// A libuv call failed. Carries the uv error name (`ECONNREFUSED`) and the operation that failed.
public struct LoopError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The negative libuv status code.
    public let code: Int32
    /// What Caraway was doing, e.g. "tcp bind 127.0.0.1:8080".
    public let operation: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// The symbolic name, e.g. `EADDRINUSE`.
    public var name: String { String(cString: uv_err_name(code)) }

    public var description: String {
        "\(operation) failed: \(name) (\(String(cString: uv_strerror(code))))"
    }

    /// Throws a `LoopError` when `status` is negative.
    @inline(__always)
    static func check(_ status: Int32, _ operation: @autoclosure () -> String) throws(LoopError) {
        if status < 0 { throw LoopError(code: status, operation: operation()) }
    }
}
