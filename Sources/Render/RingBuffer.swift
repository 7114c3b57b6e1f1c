/// A bounded FIFO: appending beyond `capacity` drops the oldest element.
public struct RingBuffer<Element: Sendable>: Sendable {
    public let capacity: Int
    private var storage: [Element] = []
    private var head = 0

    public init(capacity: Int) {
        precondition(capacity > 0, "RingBuffer capacity must be positive")
        self.capacity = capacity
        storage.reserveCapacity(capacity)
    }

    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.isEmpty }

    public mutating func append(_ e: Element) {
        if storage.count < capacity { storage.append(e) } else { storage[head] = e; head = (head + 1) % capacity }
    }

    /// Oldest first.
    public var elements: [Element] {
        if storage.count < capacity { return storage }
        return Array(storage[head...] + storage[..<head])
    }

    /// The newest `n` elements, oldest first.
    public func suffix(_ n: Int) -> [Element] { Array(elements.suffix(max(0, n))) }

    public var last: Element? { storage.isEmpty ? nil : (storage.count < capacity ? storage.last : storage[(head + capacity - 1) % capacity]) }
}

extension RingBuffer: Equatable where Element: Equatable {
    public static func == (a: RingBuffer, b: RingBuffer) -> Bool { a.capacity == b.capacity && a.elements == b.elements }
}
