import CarawayPostgres
import CarawayProtocol

/// One row of `caraway_executions` for the REST API.
public struct ExecutionRecord: Sendable {
    public var json: JSON
    /// The pagination key of this row: (updated_at, task_id).
    public var cursor: ExecutionCursor

    static let columns = """
    task_id, task, state, schedule_id, extract(epoch FROM tick) AS tick, args::text AS args, kwargs::text AS kwargs, queue,
    node, child_pid, retries, runtime, result::text AS result, error, transitions::text AS transitions,
    extract(epoch FROM received_at) AS received_at, extract(epoch FROM started_at) AS started_at,
    extract(epoch FROM finished_at) AS finished_at, extract(epoch FROM updated_at) AS updated_at
    """

    init(row: PostgresRow) {
        func parsed(_ column: String) -> JSON { row[column].flatMap { try? JSON.parse($0) } ?? .null }
        func time(_ column: String) -> JSON { ScheduleRecord.time(row.double(column)) }
        var o = JSONObject()
        o["task_id"] = JSON(row["task_id"])
        o["task"] = JSON(row["task"])
        o["state"] = JSON(row["state"])
        o["schedule_id"] = row.int64("schedule_id").map { JSON(Int($0)) } ?? .null
        o["tick"] = time("tick")
        o["args"] = parsed("args")
        o["kwargs"] = parsed("kwargs")
        o["queue"] = JSON(row["queue"])
        o["node"] = JSON(row["node"])
        o["child_pid"] = row.int("child_pid").map { JSON($0) } ?? .null
        o["retries"] = JSON(row.int("retries") ?? 0)
        o["runtime"] = row.double("runtime").map { JSON($0) } ?? .null
        o["result"] = parsed("result")
        o["error"] = JSON(row["error"])
        o["transitions"] = parsed("transitions")
        o["received_at"] = time("received_at")
        o["started_at"] = time("started_at")
        o["finished_at"] = time("finished_at")
        o["updated_at"] = time("updated_at")
        json = .object(o)
        cursor = ExecutionCursor(updatedAt: row.double("updated_at") ?? 0, taskID: row["task_id"] ?? "")
    }
}

/// Keyset pagination position: rows strictly older than (updatedAt, taskID), newest first.
public struct ExecutionCursor: Sendable, Equatable {
    public var updatedAt: Double
    public var taskID: String

    public init(updatedAt: Double, taskID: String) {
        self.updatedAt = updatedAt
        self.taskID = taskID
    }

    /// Opaque token for clients: base64 of "<updatedAt>|<taskID>".
    public var token: String { Base64.encodeToString(Array("\(updatedAt)|\(taskID)".utf8)) }

    public init?(token: String) {
        // No U+0000: a cursor's task id goes to PostgreSQL as text, which cannot hold it.
        guard let bytes = try? Base64.decode(token), !bytes.contains(0), let text = String(validating: bytes, as: UTF8.self),
              let bar = text.firstIndex(of: "|"), let time = Double(text[..<bar]) else { return nil }
        updatedAt = time
        taskID = String(text[text.index(after: bar)...])
    }
}

/// Filters of `GET /api/v1/executions` (all optional).
public struct ExecutionFilter: Sendable {
    public var state: String?
    public var task: String?
    public var scheduleID: Int64?
    public var since: Double?
    public var until: Double?
    public var after: ExecutionCursor?
    public var limit: Int = 50

    public init() {}
}

extension Store {
    public func executionsList(_ filter: ExecutionFilter, _ done: @escaping Completion<[ExecutionRecord]>) {
        connection.query("""
            SELECT \(ExecutionRecord.columns) FROM caraway_executions
             WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR task = $2)
               AND ($3::bigint IS NULL OR schedule_id = $3::bigint)
               AND ($4::double precision IS NULL OR updated_at >= to_timestamp($4::double precision))
               AND ($5::double precision IS NULL OR updated_at < to_timestamp($5::double precision))
               AND ($6::double precision IS NULL OR (updated_at, task_id) < (to_timestamp($6::double precision), $7::text))
             ORDER BY updated_at DESC, task_id DESC
             LIMIT $8::integer
            """, [filter.state, filter.task, filter.scheduleID.map { String($0) }, filter.since.map { String($0) },
                  filter.until.map { String($0) }, filter.after.map { String($0.updatedAt) }, filter.after?.taskID,
                  String(filter.limit)]) { result in
            done(result.map { $0.rows.map(ExecutionRecord.init(row:)) })
        }
    }

    public func executionGet(taskID: String, _ done: @escaping Completion<ExecutionRecord?>) {
        connection.query("SELECT \(ExecutionRecord.columns) FROM caraway_executions WHERE task_id = $1", [taskID]) { result in
            done(result.map { $0.rows.first.map(ExecutionRecord.init(row:)) })
        }
    }

    /// Counts by state (all time), for `GET /api/v1/stats`.
    public func executionsStats(_ done: @escaping Completion<[String: Int]>) {
        connection.query("SELECT state, count(*) AS n FROM caraway_executions GROUP BY state") { result in
            done(result.map { r in
                var counts: [String: Int] = [:]
                for row in r.rows { counts[row["state"] ?? "?"] = row.int("n") ?? 0 }
                return counts
            })
        }
    }
}
