import Testing
import CarawayPostgres
import CarawayProtocol
import Logging
@testable import CarawayStore

@Suite(.suitePostgres) struct StoreTests {
    func definition(_ name: String, every: Double = 1) -> ScheduleDefinition {
        var d = ScheduleDefinition(name: name, task: "caraway.add", schedule: ["kind": "interval", "every": JSON(every)])
        d.args = [1, 2]
        d.nextRunAt = 1_000
        return d
    }

    @Test func threeConnectionsMigratingAtOnceApplyEachVersionOnce() throws {
        let h = try StoreHarness()
        let stores = try (0..<3).map { _ in try h.store() }
        var done = 0
        var failures: [PostgresError] = []
        for s in stores { s.migrate { r in done += 1; if case .failure(let e) = r { failures.append(e) } } }
        try StoreHarness.run(h.loop, "three migrations") { done == 3 }
        #expect(failures.isEmpty, "\(failures)")
        let rows = try h.wait("versions") { stores[0].connection.query("SELECT version FROM caraway_migrations ORDER BY version", [], $0) }
        #expect(rows.rows.map { $0.int("version") } == Migrations.all.map(\.version))
    }

    @Test func aTickFiresOnceAndOnlyForTheCurrentFence() throws {
        let h = try StoreHarness()
        let store = try h.store()
        try h.wait("migrate") { store.migrate($0) }
        let row = try h.wait("insert") { store.scheduleInsert(definition("every-second"), $0) }
        #expect(try h.wait("fence 1") { store.beatFence(epoch: 1, node: "a", $0) })
        let fire = FireParams(scheduleID: row.id, epoch: 1, node: "a", ticks: [1_000], taskIDs: ["beat-1-1000000"],
                              expectedNextRunAt: 1_000, newNextRunAt: 1_001, disableAfter: false)
        let first = try h.wait("fire") { store.scheduleFire(fire, $0) }
        #expect(first == [RecordedFire(scheduleID: row.id, tick: 1_000, taskID: "beat-1-1000000")])
        // The same plan again: next_run_at moved on, so nothing is recorded twice.
        #expect(try h.wait("fire again") { store.scheduleFire(fire, $0) }.isEmpty)
        // A newer term fences; the old term can fire nothing, even with a correct plan.
        #expect(try h.wait("fence 2") { store.beatFence(epoch: 2, node: "b", $0) })
        #expect(try h.wait("fence 1 again") { store.beatFence(epoch: 1, node: "a", $0) } == false)
        var stale = fire
        stale.ticks = [1_001]
        stale.taskIDs = ["beat-1-1001000"]
        stale.expectedNextRunAt = 1_001
        stale.newNextRunAt = 1_002
        #expect(try h.wait("stale fire") { store.scheduleFire(stale, $0) }.isEmpty)
        var current = stale
        current.epoch = 2
        #expect(try h.wait("current fire") { store.scheduleFire(current, $0) }.count == 1)
        let after = try h.wait("get") { store.scheduleGet(id: row.id, $0) }!
        #expect(after.totalRunCount == 2 && after.nextRunAt == 1_002 && after.fenceEpoch == 2 && after.lastTaskID == "beat-1-1001000")
    }

    @Test func committedFiresStayInTheOutboxUntilMarkedEnqueued() throws {
        let h = try StoreHarness()
        let store = try h.store()
        try h.wait("migrate") { store.migrate($0) }
        let row = try h.wait("insert") { store.scheduleInsert(definition("outbox"), $0) }
        _ = try h.wait("fence") { store.beatFence(epoch: 5, node: "a", $0) }
        _ = try h.wait("fire") {
            store.scheduleFire(FireParams(scheduleID: row.id, epoch: 5, node: "a", ticks: [1_000, 1_001], taskIDs: ["x", "y"],
                                          expectedNextRunAt: 1_000, newNextRunAt: 1_002, disableAfter: false), $0)
        }
        let pending = try h.wait("pending") { store.firesPendingEnqueue(olderThan: -1, $0) }
        #expect(pending.map(\.taskID).sorted() == ["x", "y"])
        #expect(pending.first?.args == [1, 2])
        try h.wait("mark") { store.fireMarkEnqueued(scheduleID: row.id, ticks: [1_000], $0) }
        #expect(try h.wait("pending after") { store.firesPendingEnqueue(olderThan: -1, $0) }.map(\.taskID) == ["y"])
    }

    @Test func aOneOffScheduleDisablesItselfWhenItFires() throws {
        let h = try StoreHarness()
        let store = try h.store()
        try h.wait("migrate") { store.migrate($0) }
        var d = ScheduleDefinition(name: "once", task: "caraway.noop", schedule: ["kind": "one_off", "at": "2026-01-01T00:00:00+00:00"])
        d.nextRunAt = 50
        let row = try h.wait("insert") { store.scheduleInsert(d, $0) }
        _ = try h.wait("fence") { store.beatFence(epoch: 1, node: "a", $0) }
        _ = try h.wait("fire") {
            store.scheduleFire(FireParams(scheduleID: row.id, epoch: 1, node: "a", ticks: [50], taskIDs: ["o"],
                                          expectedNextRunAt: 50, newNextRunAt: nil, disableAfter: true), $0)
        }
        let after = try h.wait("get") { store.scheduleGet(id: row.id, $0) }!
        #expect(!after.enabled && after.nextRunAt == nil && after.totalRunCount == 1)
    }

    @Test func historyMergesTransitionsPerTaskAndPaginatesWithoutGaps() throws {
        let h = try StoreHarness()
        let store = try h.store()
        try h.wait("migrate") { store.migrate($0) }
        var events: [ExecutionEvent] = []
        for i in 0..<5 {
            events.append(ExecutionEvent(taskID: "t\(i)", task: "caraway.add", state: "RECEIVED", at: 100, node: "n", args: [1, 2]))
            events.append(ExecutionEvent(taskID: "t\(i)", task: "caraway.add", state: "STARTED", at: 101, node: "n", childPID: 42))
        }
        try h.wait("record 1") { store.executionsRecord(events, $0) }
        try h.wait("record 2") {
            store.executionsRecord([ExecutionEvent(taskID: "t0", task: "caraway.add", state: "SUCCESS", at: 102, node: "n",
                                                   runtime: 0.5, result: 3)], $0)
        }
        let t0 = try h.wait("get") { store.executionGet(taskID: "t0", $0) }!
        #expect(t0.json["state"] == "SUCCESS" && t0.json["result"] == 3 && t0.json["child_pid"] == 42)
        #expect(t0.json["transitions"]?.arrayValue?.compactMap { $0["state"]?.stringValue } == ["RECEIVED", "STARTED", "SUCCESS"])
        var seen: [String] = []
        var filter = ExecutionFilter()
        filter.limit = 2
        for _ in 0..<5 {
            let page = try h.wait("page") { store.executionsList(filter, $0) }
            seen += page.compactMap { $0.json["task_id"]?.stringValue }
            guard page.count == 2 else { break }
            filter.after = page.last!.cursor
        }
        #expect(seen.sorted() == (0..<5).map { "t\($0)" })
        #expect(Set(seen).count == seen.count)
        let stats = try h.wait("stats") { store.executionsStats($0) }
        #expect(stats == ["SUCCESS": 1, "STARTED": 4])
    }

    @Test func aNULInAnyHistoryFieldIsStoredAsU_FFFDAndDoesNotFailItsBatch() throws {
        // PostgreSQL's text and jsonb cannot hold U+0000; a batch holding one failed whole and was
        // retried forever, so one producer's message stopped every task's history.
        let h = try StoreHarness()
        let store = try h.store()
        try h.wait("migrate") { store.migrate($0) }
        let events = [
            ExecutionEvent(taskID: "plain", task: "caraway.add", state: "RECEIVED", at: 100, node: "n", args: [1, 2]),
            ExecutionEvent(taskID: "nul\u{0}id", task: "caraway.\u{0}", state: "RECEIVED", at: 100, node: "n",
                           args: ["a\u{0}b", ["deep\u{0}"]], kwargs: ["k\u{0}": ["v": "\u{0}"]]),
            ExecutionEvent(taskID: "plain", task: "caraway.add", state: "FAILURE", at: 101, node: "n", error: "boom\u{0}"),
        ]
        try h.wait("record") { store.executionsRecord(events, $0) }
        let plain = try #require(try h.wait("get plain") { store.executionGet(taskID: "plain", $0) })
        #expect(plain.json["state"] == "FAILURE" && plain.json["error"] == "boom\u{FFFD}")
        let marked = try #require(try h.wait("get marked") { store.executionGet(taskID: "nul\u{FFFD}id", $0) })
        #expect(marked.json["task"] == "caraway.\u{FFFD}")
        #expect(marked.json["args"] == ["a\u{FFFD}b", ["deep\u{FFFD}"]])
        #expect(marked.json["kwargs"] == ["k\u{FFFD}": ["v": "\u{FFFD}"]])
        #expect(JSON.string("x").containsNUL == false && JSON.array([["k\u{0}": 1]]).containsNUL)
    }

    @Test func nonFiniteNumbersAreStoredAsTheirNames() throws {
        // Python's json writes float('nan') as NaN, which jsonb refuses (22P02).
        let h = try StoreHarness()
        let store = try h.store()
        try h.wait("migrate") { store.migrate($0) }
        let events = [ExecutionEvent(taskID: "nan", task: "caraway.echo", state: "SUCCESS", at: 100, node: "n", runtime: 0.1,
                                     result: try JSON.parse(#"{"a": [NaN, Infinity, -Infinity, 1e400, 2]}"#))]
        try h.wait("record") { store.executionsRecord(events, $0) }
        let row = try #require(try h.wait("get") { store.executionGet(taskID: "nan", $0) })
        #expect(row.json["result"]?["a"]?[0] == "NaN" && row.json["result"]?["a"]?[1] == "Infinity")
        #expect(row.json["result"]?["a"]?[2] == "-Infinity" && row.json["result"]?["a"]?[4] == 2)
        #expect(row.json["result"]?["a"]?[3]?.numberValue != nil)  // numeric takes 1e400
    }

    @Test func historyDropsOnlyTheEventPostgresRefusesAndKeepsWritingTheRest() throws {
        // A producer's `retries` beyond PostgreSQL's integer (22003): a data exception no
        // sanitising foresaw. The writer isolates the event by halving the batch, drops it
        // (counted and logged) and writes every other event; before, the batch was retried forever.
        let h = try StoreHarness()
        let store = try h.store()
        try h.wait("migrate") { store.migrate($0) }
        let writer = HistoryWriter(loop: h.loop, store: store, flushIntervalMilliseconds: 20, maxBatch: 16, logger: Logger(label: "test"))
        writer.start()
        for i in 0..<40 {
            writer.record(ExecutionEvent(taskID: "t\(i)", task: "caraway.noop", state: "SUCCESS", at: 100, node: "n",
                                         retries: i == 13 ? 3_000_000_000 : 0))
        }
        try StoreHarness.run(h.loop, "the writer to settle") { writer.pending == 0 && writer.written + writer.rejected == 40 }
        #expect(writer.rejected == 1 && writer.written == 39)
        let stats = try h.wait("stats") { store.executionsStats($0) }
        #expect(stats == ["SUCCESS": 39])
        #expect(try h.wait("poison") { store.executionGet(taskID: "t13", $0) } == nil)
        var stopped = false
        writer.stop { stopped = true }
        try StoreHarness.run(h.loop, "stop") { stopped }
    }

    @Test func sqlArraysQuoteTextSafely() {
        #expect(SQLArray.texts(["a", "b\"c", "d\\e"]) == #"{"a","b\"c","d\\e"}"#)
        #expect(SQLArray.doubles([1.5, 2]) == "{1.5,2.0}")
    }
}
