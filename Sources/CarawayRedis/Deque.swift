/// A minimal FIFO with O(1) amortised append and popFirst (ring buffer over an Array).
struct Deque<Element>: Sequence {
    private var storage: [Element?] = []
    private var head = 0
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }
    var first: Element? { count == 0 ? nil : storage[head] }

    mutating func append(_ element: Element) {
        if count == storage.count { grow() }
        storage[(head + count) % storage.count] = element
        count += 1
    }

    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = storage[head]
        storage[head] = nil
        head = (head + 1) % storage.count
        count -= 1
        return element
    }

    func firstIndex(where predicate: (Element) -> Bool) -> Int? {
        for i in 0..<count where predicate(storage[(head + i) % storage.count]!) { return i }
        return nil
    }

    mutating func remove(at offset: Int) {
        var items = Array(self)
        items.remove(at: offset)
        self = Deque()
        for item in items { append(item) }
    }

    private mutating func grow() {
        let items = Array(self)
        storage = items.map { Optional($0) } + Array(repeating: nil, count: Swift.max(8, items.count))
        head = 0
    }

    func makeIterator() -> AnyIterator<Element> {
        var i = 0
        return AnyIterator {
            guard i < count else { return nil }
            defer { i += 1 }
            return storage[(head + i) % storage.count]
        }
    }
}
