import CarawayPostgres
import CarawayProtocol

/// One row of `caraway_schedules`, with times as epoch seconds.
///
/// `schedule` stays raw JSON here: decoding it can fail for rows written by plain SQL, and the
/// beat must log and skip such a row, not fail the whole read.
public struct ScheduleRecord: Sendable {
    public var id: Int64
    public var name: String
    public var task: String
    public var args: JSON
    public var kwargs: JSON
    public var queue: String?
    public var schedule: JSON
    public var enabled: Bool
    public var startAt: Double?
    public var endAt: Double?
    public var misfire: String
    public var singleton: Bool
    public var description: String
    public var lastRunAt: Double?
    public var nextRunAt: Double?
    public var totalRunCount: Int64
    public var lastStatus: String?
    public var lastTaskID: String?
    public var lastError: String?
    public var fenceEpoch: Int64
    public var createdAt: Double
    public var updatedAt: Double

    /// The columns every schedule query selects, in this order (times as epoch seconds).
    static let columns = """
    id, name, task, args::text AS args, kwargs::text AS kwargs, queue, schedule::text AS schedule, enabled,
    extract(epoch FROM start_at) AS start_at, extract(epoch FROM end_at) AS end_at, misfire, singleton, description,
    extract(epoch FROM last_run_at) AS last_run_at, extract(epoch FROM next_run_at) AS next_run_at, total_run_count,
    last_status, last_task_id, last_error, fence_epoch,
    extract(epoch FROM created_at) AS created_at, extract(epoch FROM updated_at) AS updated_at
    """

    init(row: PostgresRow) {
        id = row.int64("id") ?? 0
        name = row["name"] ?? ""
        task = row["task"] ?? ""
        args = (try? JSON.parse(row["args"] ?? "[]")) ?? .array([])
        kwargs = (try? JSON.parse(row["kwargs"] ?? "{}")) ?? .object([:])
        queue = row["queue"]
        schedule = (try? JSON.parse(row["schedule"] ?? "null")) ?? .null
        enabled = row.bool("enabled") ?? false
        startAt = row.double("start_at")
        endAt = row.double("end_at")
        misfire = row["misfire"] ?? "once"
        singleton = row.bool("singleton") ?? false
        description = row["description"] ?? ""
        lastRunAt = row.double("last_run_at")
        nextRunAt = row.double("next_run_at")
        totalRunCount = row.int64("total_run_count") ?? 0
        lastStatus = row["last_status"]
        lastTaskID = row["last_task_id"]
        lastError = row["last_error"]
        fenceEpoch = row.int64("fence_epoch") ?? 0
        createdAt = row.double("created_at") ?? 0
        updatedAt = row.double("updated_at") ?? 0
    }

    /// The REST/CLI representation.
    public var json: JSON {
        var o = JSONObject()
        o["id"] = JSON(Int(id))
        o["name"] = .string(name)
        o["task"] = .string(task)
        o["args"] = args
        o["kwargs"] = kwargs
        o["queue"] = JSON(queue)
        o["schedule"] = schedule
        o["enabled"] = .bool(enabled)
        o["start_at"] = Self.time(startAt)
        o["end_at"] = Self.time(endAt)
        o["misfire"] = .string(misfire)
        o["singleton"] = .bool(singleton)
        o["description"] = .string(description)
        o["last_run_at"] = Self.time(lastRunAt)
        o["next_run_at"] = Self.time(nextRunAt)
        o["total_run_count"] = JSON(Int(totalRunCount))
        o["last_status"] = JSON(lastStatus)
        o["last_task_id"] = JSON(lastTaskID)
        o["last_error"] = JSON(lastError)
        o["created_at"] = Self.time(createdAt)
        o["updated_at"] = Self.time(updatedAt)
        return .object(o)
    }

    /// ISO text; Postgres's `infinity` / `-infinity` (valid in SQL-written rows) stay words.
    static func time(_ t: Double?) -> JSON {
        guard let t else { return .null }
        if t == .infinity { return "infinity" }
        if t == -.infinity { return "-infinity" }
        return .string(Timestamp.format(t))
    }
}

/// The fields a user sets on a schedule (create, or full update).
public struct ScheduleDefinition: Sendable {
    public var name: String
    public var task: String
    public var args: JSON = .array([])
    public var kwargs: JSON = .object([:])
    public var queue: String?
    public var schedule: JSON
    public var enabled = true
    public var startAt: Double?
    public var endAt: Double?
    public var misfire = "once"
    public var singleton = false
    public var description = ""
    /// The first tick, computed by the caller from the schedule (nil lets the leader compute it).
    public var nextRunAt: Double?

    public init(name: String, task: String, schedule: JSON) {
        self.name = name
        self.task = task
        self.schedule = schedule
    }

    /// The definition of an existing row (to apply a PATCH on top of it).
    public init(record: ScheduleRecord) {
        name = record.name
        task = record.task
        args = record.args
        kwargs = record.kwargs
        queue = record.queue
        schedule = record.schedule
        enabled = record.enabled
        startAt = record.startAt
        endAt = record.endAt
        misfire = record.misfire
        singleton = record.singleton
        description = record.description
        nextRunAt = record.nextRunAt
    }

    var parameters: [String?] {
        [name, task, args.serializedString(), kwargs.serializedString(), queue, schedule.serializedString(),
         enabled ? "true" : "false", startAt.map { String($0) }, endAt.map { String($0) }, misfire,
         singleton ? "true" : "false", description, nextRunAt.map { String($0) }]
    }
}
