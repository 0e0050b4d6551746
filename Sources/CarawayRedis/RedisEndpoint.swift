import CarawayLoop
#if canImport(Glibc)
import Glibc
#endif

/// Where a Redis server is: parsed from `redis://[:password@]host[:port][/db]`.
///
/// The host is resolved to a numeric address when parsed (before the loop runs), because
/// hiredis 0.14 would otherwise call a blocking getaddrinfo on the loop thread.
public struct RedisEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var database: Int
    public var password: String?
    public var username: String?

    public init(host: String = "127.0.0.1", port: Int = 6379, database: Int = 0, password: String? = nil, username: String? = nil) {
        self.host = host
        self.port = port
        self.database = database
        self.password = password
        self.username = username
    }

    public var description: String { "\(host):\(port)/\(database)" }

    /// The URL form, without the password.
    public var url: String { "redis://\(host):\(port)/\(database)" }

    public enum ParseError: Error, CustomStringConvertible, Sendable {
        case invalid(String, reason: String)
        public var description: String {
            switch self {
            case .invalid(let url, let reason): return "invalid Redis URL '\(url)': \(reason) (expected redis://[:password@]host[:port][/db])"
            }
        }
    }

    public static func parse(_ url: String) throws(ParseError) -> RedisEndpoint {
        guard url.hasPrefix("redis://") else { throw .invalid(url, reason: "scheme must be redis://") }
        var rest = Substring(url.dropFirst("redis://".count))
        var endpoint = RedisEndpoint()
        if let at = rest.lastIndex(of: "@") {
            let auth = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = auth.firstIndex(of: ":") {
                let user = auth[..<colon]
                endpoint.username = user.isEmpty ? nil : String(user)
                endpoint.password = String(auth[auth.index(after: colon)...]).removingPercentEncoding
            } else if !auth.isEmpty {
                endpoint.password = String(auth).removingPercentEncoding
            }
        }
        if let q = rest.firstIndex(of: "?") { rest = rest[..<q] }
        if let slash = rest.firstIndex(of: "/") {
            let db = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !db.isEmpty {
                guard let n = Int(db), n >= 0 else { throw .invalid(url, reason: "database '\(db)' is not a number") }
                endpoint.database = n
            }
        }
        var host = rest
        if host.hasPrefix("[") , let close = host.firstIndex(of: "]") {
            endpoint.host = String(host[host.index(after: host.startIndex)..<close])
            host = host[host.index(after: close)...]
            if host.hasPrefix(":") {
                guard let p = Int(host.dropFirst()), (1...65535).contains(p) else { throw .invalid(url, reason: "bad port") }
                endpoint.port = p
            }
        } else if let colon = host.lastIndex(of: ":") {
            guard let p = Int(host[host.index(after: colon)...]), (1...65535).contains(p) else {
                throw .invalid(url, reason: "port '\(host[host.index(after: colon)...])' is not a number in 1...65535")
            }
            endpoint.port = p
            endpoint.host = String(host[..<colon])
        } else if !host.isEmpty {
            endpoint.host = String(host)
        }
        if endpoint.host.isEmpty { endpoint.host = "127.0.0.1" }
        endpoint.host = try resolve(endpoint.host, url: url)
        return endpoint
    }

    private static func resolve(_ host: String, url: String) throws(ParseError) -> String {
        guard let address = HostAddress.numeric(host) else { throw .invalid(url, reason: "cannot resolve host '\(host)'") }
        return address
    }
}

extension String {
    fileprivate var removingPercentEncoding: String? {
        var out: [UInt8] = []
        var bytes = Array(utf8)[...]
        while let b = bytes.popFirst() {
            if b == UInt8(ascii: "%"), bytes.count >= 2,
               let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) {
                out.append(v)
                bytes = bytes.dropFirst(2)
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
