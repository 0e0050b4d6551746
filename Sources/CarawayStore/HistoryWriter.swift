import CarawayLoop
import CarawayProtocol
import Logging

/// Writes execution events to Postgres in batches, off the task path.
///
/// Events are buffered and flushed as one statement every `flushIntervalMilliseconds` or once
/// `maxBatch` are waiting. History is a record, not a guarantee: while Postgres is unreachable
/// the buffer holds up to `maxBuffered` events, then drops the oldest (and says how many) —
/// tasks keep running either way (I5: Postgres trouble never stops Redis work).
public final class HistoryWriter {
    let loop: EventLoop
    let store: Store
    let logger: Logger
    public let flushIntervalMilliseconds: UInt64
    public let maxBatch: Int
    public let maxBuffered: Int
    private var buffer: [ExecutionEvent] = []
    private var writing = false
    private var timer: LoopTimer?
    /// Events written, and events dropped because the buffer overflowed (stats).
    public private(set) var written = 0
    public private(set) var dropped = 0
    /// Events PostgreSQL refused as data (logged one by one as `history.event_rejected`).
    public private(set) var rejected = 0
    /// The next batch's size: `maxBatch`, halved while a data exception is being isolated.
    private var batchLimit = Int.max

    public init(loop: EventLoop, store: Store, flushIntervalMilliseconds: UInt64 = 200, maxBatch: Int = 2_000,
                maxBuffered: Int = 200_000, logger: Logger) {
        self.loop = loop
        self.store = store
        self.flushIntervalMilliseconds = flushIntervalMilliseconds
        self.maxBatch = maxBatch
        self.maxBuffered = maxBuffered
        self.logger = logger
    }

    public func start() {
        if timer == nil { timer = LoopTimer(loop: loop) }
        timer?.start(after: flushIntervalMilliseconds, repeat: flushIntervalMilliseconds) { [weak self] in self?.flush() }
    }

    /// Flushes what is buffered, then stops (shutdown). `done` fires once the last write ends.
    public func stop(_ done: @escaping () -> Void) {
        timer?.close()
        timer = nil
        flush(then: done)
    }

    public var pending: Int { buffer.count }

    public func record(_ event: ExecutionEvent) {
        buffer.append(event)
        if buffer.count > maxBuffered {
            let excess = buffer.count - maxBuffered
            buffer.removeFirst(excess)
            dropped += excess
            if dropped % 10_000 < excess {
                logger.warning("history.dropped_events", metadata: ["dropped": "\(dropped)", "note": "Postgres is not keeping up or unreachable"])
            }
        }
        if buffer.count >= maxBatch { flush() }
    }

    private func flush(then done: (() -> Void)? = nil) {
        guard !writing, !buffer.isEmpty else { done?(); return }
        writing = true
        let batch = Array(buffer.prefix(min(maxBatch, batchLimit)))
        buffer.removeFirst(batch.count)
        store.executionsRecord(batch) { [weak self] result in
            guard let self else { return }
            self.writing = false
            switch result {
            case .success:
                self.written += batch.count
                self.batchLimit = self.maxBatch
                if !self.buffer.isEmpty && (done != nil || self.buffer.count >= self.maxBatch) { self.flush(then: done) } else { done?() }
            case .failure(let error) where error.sqlState?.hasPrefix("22") == true:
                // A data exception: some value in the batch PostgreSQL will never take, so the same
                // batch would fail forever and hold back every event behind it. Halve the batch
                // until the event at fault is alone, and drop that one, logged (the store already
                // makes U+0000 and non-finite numbers storable; this is for what nobody foresaw).
                if batch.count == 1 {
                    self.rejected += 1
                    self.logger.warning("history.event_rejected", metadata: [
                        "task.id": "\(batch[0].taskID)", "state": "\(batch[0].state)", "error": "\(error)"])
                } else {
                    self.buffer.insert(contentsOf: batch, at: 0)
                    self.batchLimit = max(1, batch.count / 2)
                }
                self.flush(then: done)
            case .failure(let error):
                self.buffer.insert(contentsOf: batch, at: 0)
                self.logger.debug("history.write_failed", metadata: ["error": "\(error)", "pending": "\(self.buffer.count)"])
                done?()
            }
        }
    }
}
