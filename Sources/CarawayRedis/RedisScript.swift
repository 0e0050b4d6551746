/// A Lua script run with EVALSHA, loaded on first use and again after NOSCRIPT.
public struct RedisScript: Sendable {
    public let name: String
    public let source: String

    public init(name: String, source: String) {
        self.name = name
        self.source = source
    }
}

extension RedisConnection {
    private static let evalsha = Array("EVALSHA".utf8)
    private static let eval = Array("EVAL".utf8)

    /// Runs `script` with `keys` and `arguments`. Uses EVALSHA once the script is loaded on this
    /// connection and EVAL until then (or after NOSCRIPT, e.g. after SCRIPT FLUSH), so the
    /// first call never waits for a separate SCRIPT LOAD round trip.
    public func evaluate(_ script: RedisScript, keys: [[UInt8]], arguments: [[UInt8]], timeout: UInt64? = nil,
                         _ completion: @escaping (Result<RedisValue, RedisError>) -> Void) {
        let head: [[UInt8]]
        if let sha = scriptSHAs[script.name] {
            head = [Self.evalsha, sha, Array(String(keys.count).utf8)]
        } else {
            head = [Self.eval, Array(script.source.utf8), Array(String(keys.count).utf8)]
            load(script)
        }
        send(groups: [head, keys, arguments], timeout: timeout) { [weak self] result in
            if case .failure(.server(let message)) = result, message.hasPrefix("NOSCRIPT") {
                self?.scriptSHAs[script.name] = nil
                self?.evaluate(script, keys: keys, arguments: arguments, timeout: timeout, completion)
                return
            }
            completion(result)
        }
    }

    private func load(_ script: RedisScript) {
        guard scriptSHAs[script.name] == nil else { return }
        scriptSHAs[script.name] = nil
        send(["SCRIPT", "LOAD", script.source]) { [weak self] result in
            if case .success(let value) = result, let sha = value.bytes { self?.scriptSHAs[script.name] = sha }
        }
    }
}
