import CarawayPostgres
import CarawayProtocol

extension Store {
    /// Writes a batch of execution events as ONE statement: events are merged per task first
    /// (an upsert cannot touch a row twice), then upserted from a JSON array parameter.
    public func executionsRecord(_ events: [ExecutionEvent], _ done: @escaping Completion<Void>) {
        guard !events.isEmpty else { done(.success(())); return }
        connection.query("""
            INSERT INTO caraway_executions AS e (task_id, task, state, schedule_id, tick, args, kwargs, queue, node,
                   child_pid, retries, runtime, result, error, transitions, received_at, started_at, finished_at, updated_at)
            SELECT r.task_id, r.task, r.state, r.schedule_id, to_timestamp(r.tick), r.args, r.kwargs, r.queue, r.node,
                   r.child_pid, COALESCE(r.retries, 0), r.runtime, r.result, r.error, r.transitions,
                   to_timestamp(r.received_at), to_timestamp(r.started_at), to_timestamp(r.finished_at), now()
              FROM jsonb_to_recordset($1::jsonb) AS r(task_id text, task text, state text, schedule_id bigint,
                   tick double precision, args jsonb, kwargs jsonb, queue text, node text, child_pid integer, retries integer,
                   runtime double precision, result jsonb, error text, transitions jsonb, received_at double precision,
                   started_at double precision, finished_at double precision)
            ON CONFLICT (task_id) DO UPDATE SET
                   state = EXCLUDED.state,
                   schedule_id = COALESCE(e.schedule_id, EXCLUDED.schedule_id), tick = COALESCE(e.tick, EXCLUDED.tick),
                   args = COALESCE(e.args, EXCLUDED.args), kwargs = COALESCE(e.kwargs, EXCLUDED.kwargs),
                   queue = COALESCE(EXCLUDED.queue, e.queue), node = COALESCE(EXCLUDED.node, e.node),
                   child_pid = COALESCE(EXCLUDED.child_pid, e.child_pid), retries = GREATEST(e.retries, EXCLUDED.retries),
                   runtime = COALESCE(EXCLUDED.runtime, e.runtime), result = COALESCE(EXCLUDED.result, e.result),
                   error = COALESCE(EXCLUDED.error, e.error), transitions = e.transitions || EXCLUDED.transitions,
                   received_at = COALESCE(e.received_at, EXCLUDED.received_at),
                   started_at = COALESCE(EXCLUDED.started_at, e.started_at),
                   finished_at = COALESCE(EXCLUDED.finished_at, e.finished_at), updated_at = now()
            """, [Self.mergedRecords(events).storable().serializedString()]) { done($0.map { _ in () }) }
    }

    /// One JSON record per task id, transitions in order, latest state last.
    static func mergedRecords(_ events: [ExecutionEvent]) -> JSON {
        var order: [String] = []
        var records: [String: JSONObject] = [:]
        for event in events {
            var r = records[event.taskID] ?? {
                order.append(event.taskID)
                var fresh = JSONObject()
                fresh["task_id"] = .string(event.taskID)
                fresh["transitions"] = .array([])
                return fresh
            }()
            r["task"] = .string(event.task)
            r["state"] = .string(event.state)
            r["node"] = .string(event.node)
            if let v = event.queue { r["queue"] = .string(v) }
            if let v = event.childPID { r["child_pid"] = JSON(v) }
            r["retries"] = JSON(max(event.retries, r["retries"]?.intValue ?? 0))
            if let v = event.args { r["args"] = .array(v) }
            if let v = event.kwargs { r["kwargs"] = .object(v) }
            if let v = event.runtime { r["runtime"] = JSON(v) }
            if let v = event.result { r["result"] = v }
            if let v = event.error { r["error"] = .string(v) }
            if let v = event.scheduleID { r["schedule_id"] = JSON(Int(v)) }
            if let v = event.tick { r["tick"] = JSON(v) }
            switch event.state {
            case "RECEIVED": if r["received_at"] == nil { r["received_at"] = JSON(event.at) }
            case "STARTED": r["started_at"] = JSON(event.at)
            default: if event.isTerminal { r["finished_at"] = JSON(event.at) }
            }
            var transition = JSONObject()
            transition["state"] = .string(event.state)
            transition["at"] = .string(Timestamp.format(event.at))
            transition["node"] = .string(event.node)
            if let pid = event.childPID { transition["child_pid"] = JSON(pid) }
            r["transitions"] = .array((r["transitions"]?.arrayValue ?? []) + [.object(transition)])
            records[event.taskID] = r
        }
        return .array(order.compactMap { records[$0].map(JSON.object) })
    }

    /// Deletes executions last updated before `olderThan` (epoch seconds). Completes with the count.
    public func executionsPrune(olderThan: Double, _ done: @escaping Completion<Int>) {
        connection.query("DELETE FROM caraway_executions WHERE updated_at < to_timestamp($1::double precision)",
                         [String(olderThan)]) { done($0.map { $0.affectedRows }) }
    }
}

extension JSON {
    /// This value as PostgreSQL's jsonb (and text) can hold it: every U+0000 in strings and keys
    /// replaced by U+FFFD, and the numbers JSON has no room for — Python's NaN, Infinity and
    /// -Infinity — written as the strings "NaN", "Infinity", "-Infinity". History rows carry what
    /// producers and tasks sent (ids, names, arguments, results, error texts); one such value
    /// failed every batch it was in, and the batch was retried until it succeeded, so its
    /// neighbours' history stopped too. History is a record: the value is marked, not lost.
    func storable() -> JSON {
        guard !isStorable else { return self }  // the usual case: nothing rebuilt
        switch self {
        case .string(let text):
            return .string(Self.replacingNUL(text))
        case .number(let number):
            return .string(number.text)
        case .array(let items):
            return .array(items.map { $0.storable() })
        case .object(let object):
            var out = JSONObject()
            for (key, value) in object { out[Self.replacingNUL(key)] = value.storable() }
            return .object(out)
        default:
            return self
        }
    }

    private static func replacingNUL(_ text: String) -> String {
        guard text.utf8.contains(0) else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { $0 == "\u{0}" ? "\u{FFFD}" : $0 }))
    }

    private var isStorable: Bool {
        switch self {
        case .string(let text): !text.utf8.contains(0)
        case .number(let number): !["NaN", "Infinity", "-Infinity"].contains(number.text)  // 1e400 is fine: numeric
        case .array(let items): items.allSatisfy(\.isStorable)
        case .object(let object): object.allSatisfy { !$0.key.utf8.contains(0) && $0.value.isStorable }
        default: true
        }
    }

    /// Whether any string in this value — object keys included, at any depth — holds U+0000.
    public var containsNUL: Bool {
        switch self {
        case .string(let text): text.utf8.contains(0)
        case .array(let items): items.contains { $0.containsNUL }
        case .object(let object): object.contains { $0.key.utf8.contains(0) || $0.value.containsNUL }
        default: false
        }
    }
}
