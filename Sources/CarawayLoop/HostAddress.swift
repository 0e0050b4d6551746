#if canImport(Glibc)
import Glibc
#endif

/// Turns a host name into the numeric address the C clients need. hiredis and libpq would
/// otherwise resolve names with a blocking getaddrinfo on the loop thread, so endpoints resolve
/// once, when their URL is parsed (before the loop runs).
package enum HostAddress {
    /// `host` itself if numeric (IPv4 or IPv6), 127.0.0.1 for `localhost`, else the first IPv4
    /// address getaddrinfo gives; nil when the name does not resolve. Blocking: call off the loop.
    package static func numeric(_ host: String) -> String? {
        if host == "localhost" { return "127.0.0.1" }
        var probe = in_addr()
        if inet_pton(AF_INET, host, &probe) == 1 { return host }
        var probe6 = in6_addr()
        if inet_pton(AF_INET6, host, &probe6) == 1 { return host }
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(result) }
        var address = first.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        inet_ntop(AF_INET, &address, &buffer, socklen_t(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
