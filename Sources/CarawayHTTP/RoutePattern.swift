/// A parsed route pattern such as `/api/v1/tasks/{id}`.
struct RoutePattern {
    enum Segment: Equatable {
        case literal(String)
        case parameter(String)
    }

    let segments: [Segment]

    /// Stops with a precondition failure on a malformed pattern (see ``Router/add(_:_:_:)``).
    init(_ pattern: String) {
        precondition(pattern.hasPrefix("/"), "route pattern \(pattern) must start with /")
        var names: Set<String> = []
        segments = Self.segments(ofPath: pattern).map { segment in
            guard segment.hasPrefix("{") && segment.hasSuffix("}") && segment.count >= 2 else {
                return .literal(segment)
            }
            let name = String(segment.dropFirst().dropLast())
            precondition(!name.isEmpty, "route pattern \(pattern) has an empty parameter name")
            precondition(names.insert(name).inserted, "route pattern \(pattern) repeats parameter {\(name)}")
            return .parameter(name)
        }
    }

    /// The pattern with parameter names erased: two patterns of one shape match the same paths.
    var shape: [String?] {
        segments.map { if case .literal(let text) = $0 { text } else { nil } }
    }

    /// The segments of a path after the leading `/`, each percent-decoded (so `%2F` stays inside
    /// its segment). `/` alone has one empty segment, so it matches only the pattern `/`.
    static func segments(ofPath path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            RequestTarget.percentDecode($0, plusAsSpace: false)
        }
    }

    /// The parameters when `path` (already split) matches, else nil.
    func match(_ path: [String]) -> [String: String]? {
        guard path.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, value) in zip(segments, path) {
            switch segment {
            case .literal(let text):
                guard text == value else { return nil }
            case .parameter(let name):
                guard !value.isEmpty else { return nil }
                parameters[name] = value
            }
        }
        return parameters
    }

    /// At the first segment where one has a literal and the other a parameter, the literal wins.
    func isMoreSpecific(than other: RoutePattern) -> Bool {
        for (mine, theirs) in zip(segments, other.segments) {
            switch (mine, theirs) {
            case (.literal, .parameter): return true
            case (.parameter, .literal): return false
            default: continue
            }
        }
        return false
    }
}
