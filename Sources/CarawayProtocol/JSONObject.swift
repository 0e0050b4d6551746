/// A JSON object that keeps its keys in wire order.
///
/// Order matters because messages are re-published with small edits (retry,
/// requeue) and should come out looking like what Python sent; Python dicts are
/// ordered too. Lookups scan the pairs while the object is small (message
/// headers have about 20 keys, where a scan beats hashing) and switch to a
/// key → position index once it grows past ``indexThreshold``. The threshold sits
/// above Celery's 19 headers: at 16, every message decode built a hash index it
/// barely used (~8 % of a node's instructions per task; docs/performance.md).
///
/// Like a Python dict, setting an existing key replaces its value in place and
/// a duplicate key in parsed input keeps the first position and the last value.
/// Equality ignores order, as Python's `dict.__eq__` does.
public struct JSONObject: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    public typealias Element = (key: String, value: JSON)

    /// Objects with more keys than this get a hash index.
    @usableFromInline static let indexThreshold = 40

    @usableFromInline var storage: [Element]
    @usableFromInline var index: [String: Int]?

    /// An empty object.
    public init() {
        storage = []
        index = nil
    }

    /// An object with `pairs` in order, which the caller guarantees have distinct keys (no
    /// lookups while building: for frames the node writes per task).
    public init(uniqueKeys pairs: [(String, JSON)]) {
        storage = pairs.map { (key: $0.0, value: $0.1) }
        index = nil
        if storage.count > JSONObject.indexThreshold { buildIndex() }
    }

    /// An object with `pairs` in order; later duplicates replace earlier values.
    public init(_ pairs: [(String, JSON)]) {
        self.init()
        storage.reserveCapacity(pairs.count)
        for (key, value) in pairs { self[key] = value }
    }

    public init(dictionaryLiteral elements: (String, JSON)...) {
        self.init(elements)
    }

    /// Number of keys.
    public var count: Int { storage.count }

    /// True when there are no keys.
    public var isEmpty: Bool { storage.isEmpty }

    /// The keys in order.
    public var keys: [String] { storage.map(\.key) }

    /// The values in key order.
    public var values: [JSON] { storage.map(\.value) }

    /// Position of `key` in ``storage``, if present.
    @inlinable
    func position(of key: String) -> Int? {
        if let index { return index[key] }
        // Byte counts first: comparing two different short strings takes Swift's slow path,
        // and nearly every key scanned is a different one.
        let length = key.utf8.count
        for i in storage.indices where storage[i].key.utf8.count == length && storage[i].key == key { return i }
        return nil
    }

    /// The value for `key`; setting `nil` removes the key, setting a value replaces it
    /// in place or appends it at the end.
    ///
    /// Note that `object["k"] = .null` stores a JSON `null`, while `object["k"] = nil`
    /// removes `k`.
    @inlinable
    public subscript(key: String) -> JSON? {
        get {
            guard let at = position(of: key) else { return nil }
            return storage[at].value
        }
        set {
            if let newValue {
                if let at = position(of: key) {
                    storage[at].value = newValue
                } else {
                    append(key, newValue)
                }
            } else {
                removeValue(forKey: key)
            }
        }
    }

    /// Sets a key read by the parser: a duplicate keeps its first position and takes the new value
    /// (Python's rule), as the subscript does. Duplicates are rare in real input, and the lookup
    /// compares byte counts before strings (``position(of:)``): the plain string compares were
    /// ~10 % of a node's instructions per task (docs/performance.md).
    @inlinable
    mutating func setParsed(_ key: String, _ value: JSON) {
        if let at = position(of: key) {
            storage[at].value = value
        } else {
            append(key, value)
        }
    }

    /// Appends without checking for an existing key; the caller guarantees `key` is new.
    @inlinable
    mutating func append(_ key: String, _ value: JSON) {
        storage.append((key, value))
        if index != nil {
            index![key] = storage.count - 1
        } else if storage.count > JSONObject.indexThreshold {
            buildIndex()
        }
    }

    @usableFromInline
    mutating func buildIndex() {
        var built = [String: Int](minimumCapacity: storage.count * 2)
        for (i, pair) in storage.enumerated() { built[pair.key] = i }
        index = built
    }

    /// Removes `key`, keeping the order of the others.
    /// - Returns: the removed value, or `nil` if the key was absent.
    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSON? {
        guard let at = position(of: key) else { return nil }
        let removed = storage.remove(at: at).value
        if index != nil {
            if storage.count > JSONObject.indexThreshold { buildIndex() } else { index = nil }
        }
        return removed
    }

    /// Reserves room for `capacity` keys.
    public mutating func reserveCapacity(_ capacity: Int) {
        storage.reserveCapacity(capacity)
    }

    public func makeIterator() -> IndexingIterator<[Element]> {
        storage.makeIterator()
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for (key, value) in lhs.storage {
            guard let other = rhs[key], other == value else { return false }
        }
        return true
    }
}
