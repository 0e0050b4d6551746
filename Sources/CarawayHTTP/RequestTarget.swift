/// Splits a request target (RFC 9112 §3.2) into its path and decoded query.
///
/// The parser has already rejected bytes that may not appear in a target; this only cuts it up.
enum RequestTarget {
    /// - Returns: the path (still percent-encoded) and the query parameters (decoded).
    static func split(_ target: String) -> (path: String, query: [String: String]) {
        var rest = Substring(target)
        if let fragment = rest.firstIndex(of: "#") { rest = rest[..<fragment] }
        var queryPart: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            queryPart = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        return (path(of: rest), decodeQuery(queryPart))
    }

    /// Origin form (`/a/b`) is the path itself; absolute form (`http://host/a`, sent to proxies)
    /// drops scheme and authority; asterisk form (`*`) and authority form (`host:443`, CONNECT)
    /// are kept as they are, so routing simply finds no match.
    private static func path(of target: Substring) -> String {
        if target.first == "/" || target == "*" { return String(target) }
        guard let scheme = target.firstRange(of: "://") else { return String(target) }
        let afterAuthority = target[scheme.upperBound...]
        guard let slash = afterAuthority.firstIndex(of: "/") else { return "/" }
        return String(afterAuthority[slash...])
    }

    /// Decodes `a=1&b=x%20y&flag`; a name without `=` maps to "".
    static func decodeQuery(_ query: Substring) -> [String: String] {
        var result: [String: String] = [:]
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let name: Substring
            let value: Substring
            if let equals = pair.firstIndex(of: "=") {
                name = pair[..<equals]
                value = pair[pair.index(after: equals)...]
            } else {
                name = pair
                value = ""
            }
            let key = percentDecode(name, plusAsSpace: true)
            if result[key] == nil { result[key] = percentDecode(value, plusAsSpace: true) }
        }
        return result
    }

    /// Decodes `%XX` escapes (and `+` when `plusAsSpace`). A malformed escape is kept literally
    /// rather than rejected: the caller asked for a lenient reading, and routing then fails to match.
    static func percentDecode(_ text: Substring, plusAsSpace: Bool) -> String {
        let utf8 = text.utf8
        guard utf8.contains(where: { $0 == UInt8(ascii: "%") || (plusAsSpace && $0 == UInt8(ascii: "+")) }) else {
            return String(text)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%"),
               let first = utf8.index(index, offsetBy: 1, limitedBy: utf8.endIndex), first != utf8.endIndex,
               let second = utf8.index(first, offsetBy: 1, limitedBy: utf8.endIndex), second != utf8.endIndex,
               let high = hexValue(utf8[first]), let low = hexValue(utf8[second]) {
                bytes.append(high << 4 | low)
                index = utf8.index(after: second)
                continue
            }
            bytes.append(plusAsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            index = utf8.index(after: index)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
