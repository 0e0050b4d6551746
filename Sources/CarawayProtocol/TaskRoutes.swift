/// Celery's `task_routes` for Caraway's own producers: task name or glob → queue.
///
/// Rules are tried in order; the first whose pattern matches wins. A pattern is a task name with
/// `*` matching any run of characters (`reports.*`, `*.urgent`), as Celery's glob routes do.
/// Written as a JSON object (`{"reports.*": "reports", "caraway.sleep": "slow"}`, order kept) or
/// an array of `[pattern, queue]` pairs.
public struct TaskRoutes: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        public let pattern: String
        public let queue: String
    }

    public let rules: [Rule]

    public init(rules: [Rule] = []) { self.rules = rules }

    /// Parses the JSON form; throws a `ProtocolError` naming the bad entry.
    public init(json text: String) throws(ProtocolError) {
        let value = try JSON.parse(text)
        var rules: [Rule] = []
        switch value {
        case .object(let object):
            for (pattern, queue) in object {
                guard let name = queue.stringValue, !name.isEmpty else {
                    throw .wrongType(field: "routes[\"\(pattern)\"]", expected: "a queue name string")
                }
                rules.append(Rule(pattern: pattern, queue: name))
            }
        case .array(let pairs):
            for (i, pair) in pairs.enumerated() {
                guard let items = pair.arrayValue, items.count == 2, let pattern = items[0].stringValue,
                      let queue = items[1].stringValue, !queue.isEmpty else {
                    throw .wrongType(field: "routes[\(i)]", expected: "a [pattern, queue] pair of strings")
                }
                rules.append(Rule(pattern: pattern, queue: queue))
            }
        default:
            throw .wrongType(field: "routes", expected: "an object {pattern: queue} or an array of [pattern, queue]")
        }
        self.rules = rules
    }

    /// The queue for `task`, or nil when no rule matches (the caller's default applies).
    public func queue(for task: String) -> String? {
        rules.first { Glob.matches($0.pattern, task) }?.queue
    }
}
