import CarawayLoop
import CPQ
#if canImport(Glibc)
import Glibc
#endif

/// Where a Postgres server is and who to log in as: parsed from
/// `postgres://[user[:password]@]host[:port][/database][?option=value&…]` (or `postgresql://`).
///
/// The host is resolved to a numeric address when parsed, before the loop runs, and the
/// connection string names it with `hostaddr`: libpq then never calls a blocking `getaddrinfo`
/// on the loop thread. `localhost` becomes `127.0.0.1`.
///
/// Defaults follow libpq where that needs no lookup: port 5432, user `postgres`, database named
/// after the user. Query options (`sslmode=require`, `application_name=…`) are passed to libpq
/// as connection keywords; they are checked against libpq's list when parsed.
public struct PostgresEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// A numeric IPv4 or IPv6 address.
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    /// Extra libpq connection keywords (`sslmode`, `application_name`, `options`, …).
    public var options: [String: String]

    /// - Parameters:
    ///   - host: a numeric address; a name here is passed to libpq as `hostaddr` and fails there,
    ///     so names belong in ``parse(_:)``, which resolves them.
    public init(host: String = "127.0.0.1", port: Int = 5432, user: String = "postgres", password: String? = nil,
                database: String? = nil, options: [String: String] = [:]) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database ?? user
        self.options = options
    }

    /// `user@host:port/database`, never the password (safe for logs).
    public var description: String {
        let address = host.contains(":") ? "[\(host)]" : host
        return "\(user)@\(address):\(port)/\(database)"
    }

    /// The libpq connection string (`hostaddr='…' port='…' …`), values quoted and escaped.
    /// It names the server by address only, so connecting never resolves a name.
    public var connectionString: String {
        var pairs: [(String, String)] = [("hostaddr", host), ("port", String(port)), ("user", user), ("dbname", database)]
        if let password { pairs.append(("password", password)) }
        // Values are copied out as text and decoded as UTF-8; the server converts for us.
        if options["client_encoding"] == nil { pairs.append(("client_encoding", "UTF8")) }
        pairs += options.sorted { $0.key < $1.key }
        return pairs.map { "\($0.0)=\(Self.quote($0.1))" }.joined(separator: " ")
    }

    /// Quotes one conninfo value: single quotes, with `\` and `'` backslash-escaped.
    static func quote(_ value: String) -> String {
        var out = "'"
        for c in value {
            if c == "\\" || c == "'" { out.append("\\") }
            out.append(c)
        }
        return out + "'"
    }

    /// Why a URL was rejected.
    public enum ParseError: Error, CustomStringConvertible, Sendable, Equatable {
        case invalid(String, reason: String)

        public var description: String {
            switch self {
            case .invalid(let url, let reason):
                return "invalid Postgres URL '\(Self.redacted(url))': \(reason) "
                    + "(expected postgres://user:password@host:port/database)"
            }
        }

        /// The URL with any password replaced by `***`, so errors can be logged.
        static func redacted(_ url: String) -> String {
            let parts = url.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
            // parts: "postgres:", "", "user:password@host…"
            guard parts.count == 3, let at = parts[2].lastIndex(of: "@"),
                  let colon = parts[2][..<at].firstIndex(of: ":") else { return url }
            return String(url[..<parts[2].index(after: colon)]) + "***" + String(url[at...])
        }
    }

    /// Connection keywords that come from the URL's authority and path, never from its query.
    private static let reservedOptions: Set<String> = ["host", "hostaddr", "port", "user", "password", "dbname"]

    /// Parses a `postgres://` or `postgresql://` URL, percent-decoding each part, and resolves
    /// the host to a numeric address.
    ///
    /// Call it before the loop runs, or off the loop thread: resolving a host name (anything but
    /// a numeric address or `localhost`) blocks in `getaddrinfo`.
    /// - Throws: ``ParseError`` naming the part that is wrong.
    public static func parse(_ url: String) throws(ParseError) -> PostgresEndpoint {
        let rest: Substring
        if url.hasPrefix("postgres://") {
            rest = url.dropFirst("postgres://".count)
        } else if url.hasPrefix("postgresql://") {
            rest = url.dropFirst("postgresql://".count)
        } else {
            throw .invalid(url, reason: "the scheme must be postgres:// or postgresql://")
        }
        var main = rest
        var query: Substring = ""
        if let hash = main.firstIndex(of: "#") { main = main[..<hash] }
        if let q = main.firstIndex(of: "?") {
            query = main[main.index(after: q)...]
            main = main[..<q]
        }
        var authority = main
        var path: Substring = ""
        if let slash = main.firstIndex(of: "/") {
            authority = main[..<slash]
            path = main[main.index(after: slash)...]
        }

        var endpoint = PostgresEndpoint()
        var databaseGiven = false
        if let at = authority.lastIndex(of: "@") {
            let userinfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            let userPart: Substring
            if let colon = userinfo.firstIndex(of: ":") {
                userPart = userinfo[..<colon]
                endpoint.password = try decode(userinfo[userinfo.index(after: colon)...], "password", url)
            } else {
                userPart = userinfo
            }
            if !userPart.isEmpty { endpoint.user = try decode(userPart, "user name", url) }
        }
        if !path.isEmpty {
            if path.contains("/") { throw .invalid(url, reason: "the database name '\(path)' contains '/'") }
            endpoint.database = try decode(path, "database name", url)
            databaseGiven = true
        }
        if !databaseGiven { endpoint.database = endpoint.user }

        if authority.contains(",") { throw .invalid(url, reason: "several hosts are not supported; give exactly one") }
        var hostPart = authority
        var portPart: Substring?
        if hostPart.hasPrefix("[") {
            guard let close = hostPart.firstIndex(of: "]") else { throw .invalid(url, reason: "an IPv6 address lacks its closing ']'") }
            let after = hostPart[hostPart.index(after: close)...]
            hostPart = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalid(url, reason: "unexpected '\(after)' after the IPv6 address") }
                portPart = after.dropFirst()
            }
        } else if let colon = hostPart.lastIndex(of: ":") {
            portPart = hostPart[hostPart.index(after: colon)...]
            hostPart = hostPart[..<colon]
        }
        if let portPart {
            guard let port = Int(portPart), (1...65535).contains(port) else {
                throw .invalid(url, reason: "the port '\(portPart)' is not a number in 1...65535")
            }
            endpoint.port = port
        }
        let host = try decode(hostPart, "host", url)

        for pair in query.split(separator: "&") where !pair.isEmpty {
            guard let eq = pair.firstIndex(of: "=") else { throw .invalid(url, reason: "the option '\(pair)' has no '=value'") }
            let key = try decode(pair[..<eq], "option name", url)
            let value = try decode(pair[pair.index(after: eq)...], "option value", url)
            if reservedOptions.contains(key) {
                throw .invalid(url, reason: "'\(key)' must be given in the URL itself, not as an option")
            }
            guard knownOptions.contains(key) else { throw .invalid(url, reason: "libpq has no connection option '\(key)'") }
            endpoint.options[key] = value
        }
        // Last: every other mistake is reported without waiting for DNS.
        endpoint.host = try resolve(host.isEmpty ? "127.0.0.1" : host, url: url)
        return endpoint
    }

    /// The connection keywords this libpq understands (PQconndefaults; local, no I/O).
    private static let knownOptions: Set<String> = {
        var names: Set<String> = []
        guard let defaults = PQconndefaults() else { return names }
        defer { PQconninfoFree(defaults) }
        var option = defaults
        while let keyword = option.pointee.keyword {
            names.insert(String(cString: keyword))
            option += 1
        }
        return names
    }()

    private static func decode(_ part: Substring, _ what: String, _ url: String) throws(ParseError) -> String {
        var out: [UInt8] = []
        var bytes = Array(part.utf8)[...]
        while let b = bytes.popFirst() {
            guard b == UInt8(ascii: "%") else { out.append(b); continue }
            guard bytes.count >= 2, let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) else {
                throw .invalid(url, reason: "the \(what) has a '%' not followed by two hex digits")
            }
            out.append(v)
            bytes = bytes.dropFirst(2)
        }
        guard let text = String(validating: out, as: UTF8.self) else {
            throw .invalid(url, reason: "the \(what) is not valid UTF-8 once percent-decoded")
        }
        return text
    }

    /// A numeric address for `host`: kept if numeric, `localhost` → 127.0.0.1, else the first
    /// IPv4 address `getaddrinfo` gives (blocking: see ``parse(_:)``).
    private static func resolve(_ host: String, url: String) throws(ParseError) -> String {
        guard let address = HostAddress.numeric(host) else {
            throw .invalid(url, reason: "cannot resolve the host '\(host)' (a typo, or no DNS from here?)")
        }
        return address
    }
}
