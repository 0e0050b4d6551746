/// The tasks a node can run, by name. Built once at start-up; the same registry is rebuilt in
/// every child (same binary), so names and options agree on both sides of the pipe.
public struct TaskRegistry: Sendable {
    public struct Entry: Sendable {
        public let name: String
        public let options: TaskOptions
        public let handler: TaskHandler
    }

    private var entries: [String: Entry] = [:]

    public init() {}

    /// Registers `handler` under `name` (replacing an earlier registration of that name).
    public mutating func register(_ name: String, options: TaskOptions = TaskOptions(), _ handler: @escaping TaskHandler) {
        entries[name] = Entry(name: name, options: options, handler: handler)
    }

    public func entry(_ name: String) -> Entry? { entries[name] }

    /// Registered names, sorted (what `inspect registered` reports).
    public var names: [String] { entries.keys.sorted() }
}
