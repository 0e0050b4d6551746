/// Every Redis key and channel name Caraway uses, in one place.
///
/// Queue keys follow kombu's Redis transport exactly (spec §2.1), so Python producers and tools
/// (Flower, `celery purge`) see the same lists: `P + queue` for priority step 0 and
/// `P + queue + "\u{06}\u{16}" + step` for steps 3, 6 and 9. Caraway's own bookkeeping lives
/// under `P + "caraway:"`; results use Celery's backend names with their own prefix.
public struct RedisKeys: Sendable {
    /// kombu's `global_keyprefix` (empty by default), applied verbatim.
    public let prefix: String
    /// The result backend's prefix (Celery appends `_` unless it ends in `: _ - .`).
    public let resultPrefix: String
    /// kombu's priority separator `\x06\x16`.
    public static let separator = "\u{06}\u{16}"
    /// kombu's default `priority_steps`.
    public static let prioritySteps = [0, 3, 6, 9]

    public init(prefix: String = "", resultPrefix: String = "") {
        self.prefix = prefix
        if resultPrefix.isEmpty || [":", "_", "-", "."].contains(resultPrefix.last.map(String.init) ?? "") {
            self.resultPrefix = resultPrefix
        } else {
            self.resultPrefix = resultPrefix + "_"
        }
    }

    /// The priority step kombu uses for `priority` (0–2 → 0, 3–5 → 3, 6–8 → 6, 9 → 9).
    public static func step(forPriority priority: Int) -> Int {
        let clamped = min(9, max(0, priority))
        return priorityStepsDescending.first { $0 <= clamped } ?? 0
    }

    private static let priorityStepsDescending = prioritySteps.reversed()

    /// The list key a message of `priority` on `queue` is pushed to.
    public func queue(_ queue: String, priority: Int = 0) -> String {
        let step = Self.step(forPriority: priority)
        return step == 0 ? prefix + queue : prefix + queue + Self.separator + String(step)
    }

    /// All list keys of `queue`, highest priority (step 0) first: kombu's BRPOP order.
    public func queueKeys(_ queue: String) -> [String] {
        Self.prioritySteps.map { step in step == 0 ? prefix + queue : prefix + queue + Self.separator + String(step) }
    }

    /// The queue name a list key belongs to (strips prefix and priority suffix).
    public func queueName(fromKey key: String) -> String {
        let bytes = Array((key.hasPrefix(prefix) ? String(key.dropFirst(prefix.count)) : key).utf8)
        var end = bytes.count
        for i in 0..<max(0, bytes.count - 1) where bytes[i] == 0x06 && bytes[i + 1] == 0x16 {
            end = i
            break
        }
        return String(decoding: bytes[..<end], as: UTF8.self)
    }

    /// A node's in-flight hash: reservation id → "<source list key>\n<envelope>".
    public func inflight(node: String) -> String { prefix + "caraway:inflight:" + node }
    /// Prefix of all in-flight hashes (the recover script appends the node id).
    public var inflightPrefix: String { prefix + "caraway:inflight:" }
    /// Sorted set of live nodes: node id → lease expiry (Redis time, ms).
    public var nodes: String { prefix + "caraway:nodes" }
    /// Per-node descriptive record (name, pid, host, started) for inspection.
    public func nodeInfo(node: String) -> String { prefix + "caraway:node:" + node }
    /// Sorted set of delayed messages: tag → due time (ms since epoch).
    public var delayed: String { prefix + "caraway:delayed" }
    /// Hash of delayed messages: tag → "<destination list key>\n<envelope>".
    public var delayedMessages: String { prefix + "caraway:delayed:messages" }
    /// Sorted set of revoked task ids: id → expiry (Redis time, ms). Entries at or past their
    /// expiry are dead and pruned by the next revoke.
    public var revoked: String { prefix + "caraway:revoked" }
    /// Dead-letter list of JSON records (newest first).
    public var deadLetter: String { prefix + "caraway:dead" }
    /// Celery's result key for a task (also its pub/sub channel).
    public func result(taskID: String) -> String { resultPrefix + "celery-task-meta-" + taskID }
    /// kombu's binding set for the default direct exchange of a queue.
    public func binding(exchange: String) -> String { prefix + "_kombu.binding." + exchange }
    public func permanentBinding(exchange: String) -> String { prefix + "_kombu.binding_permanent." + exchange }
}
