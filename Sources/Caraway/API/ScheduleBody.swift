import CarawayProtocol
import CarawayStore
import CarawayWorker

/// Turns a schedules request body into a definition, or a 400 naming the field and the reason.
enum ScheduleBody {
    static let fields: Set<String> = ["name", "task", "args", "kwargs", "queue", "schedule", "enabled", "start_at", "end_at",
                                      "misfire", "singleton", "description"]

    /// Applies `body` on top of `base` (PATCH), or builds from scratch when `base` is nil (POST/PUT:
    /// then name, task and schedule are required). Validates everything before anything is written.
    static func definition(from body: JSONObject, base: ScheduleDefinition?, registry: TaskRegistry, now: Double)
        throws(APIError) -> ScheduleDefinition {
        for key in body.keys where !fields.contains(key) {
            throw .badRequest(key, "unknown field '\(key)' (allowed: \(fields.sorted().joined(separator: ", ")))")
        }
        // Found by the API fuzzer: PostgreSQL's text and jsonb cannot hold U+0000, and a string
        // with one (in any key or value, at any depth) came back as a 503 from the database.
        for (key, value) in body where value.containsNUL {
            throw .badRequest(key, "must not contain the character U+0000 (NUL): PostgreSQL cannot store it")
        }
        if base == nil {
            for required in ["name", "task", "schedule"] where body[required] == nil {
                throw .badRequest(required, "'\(required)' is required")
            }
        }
        var d = base ?? ScheduleDefinition(name: "", task: "", schedule: .null)
        if let v = body["name"] {
            guard let name = v.stringValue, !name.isEmpty, name.count <= 200 else { throw .badRequest("name", "must be a non-empty string of at most 200 characters") }
            d.name = name
        }
        if let v = body["task"] {
            guard let task = v.stringValue, !task.isEmpty else { throw .badRequest("task", "must be a non-empty string") }
            guard registry.entry(task) != nil else {
                throw .badRequest("task", "unknown task '\(task)'; registered: \(registry.names.joined(separator: ", "))")
            }
            d.task = task
        }
        if let v = body["args"] {
            guard case .array = v else { throw .badRequest("args", "must be a JSON array") }
            d.args = v
        }
        if let v = body["kwargs"] {
            guard case .object = v else { throw .badRequest("kwargs", "must be a JSON object") }
            d.kwargs = v
        }
        if let v = body["queue"] {
            if v.isNull { d.queue = nil } else {
                guard let q = v.stringValue, !q.isEmpty, !q.utf8.contains(where: { $0 <= 0x20 }) else {
                    throw .badRequest("queue", "must be a queue name without spaces, or null")
                }
                d.queue = q
            }
        }
        if let v = body["enabled"] { d.enabled = try bool(v, "enabled") }
        if let v = body["singleton"] { d.singleton = try bool(v, "singleton") }
        if let v = body["description"] {
            guard let text = v.stringValue else { throw .badRequest("description", "must be a string") }
            d.description = text
        }
        if let v = body["misfire"] {
            guard let text = v.stringValue else { throw .badRequest("misfire", "must be a string: skip, once or catch_up:N") }
            do { _ = try MisfirePolicy(text) } catch { throw .badRequest("misfire", "\(error)") }
            d.misfire = text
        }
        if let v = body["start_at"] { d.startAt = try time(v, "start_at") }
        if let v = body["end_at"] { d.endAt = try time(v, "end_at") }
        if let s = d.startAt, let e = d.endAt, e <= s { throw .badRequest("end_at", "must be later than start_at") }
        do {
            if let v = body["schedule"] { d.schedule = v }
            let schedule = try Schedule(json: d.schedule)
            if let reason = schedule.unschedulableReason(now: now, anchor: d.startAt ?? now) {
                throw APIError.badRequest("schedule", reason)
            }
        } catch let error as APIError {
            throw error
        } catch {
            throw .badRequest("schedule", "\(error)")
        }
        // Any change restarts the cadence: the leader computes the next tick at once (NOTIFY),
        // anchored like every later tick (start_at, else created_at), so there is one cadence.
        d.nextRunAt = nil
        return d
    }

    private static func bool(_ v: JSON, _ field: String) throws(APIError) -> Bool {
        guard case .bool(let b) = v else { throw .badRequest(field, "must be true or false") }
        return b
    }

    private static func time(_ v: JSON, _ field: String) throws(APIError) -> Double? {
        if v.isNull { return nil }
        guard let text = v.stringValue else { throw .badRequest(field, "must be an ISO-8601 time string or null") }
        do { return try Timestamp.parse(text) } catch { throw .badRequest(field, "\(error)") }
    }
}
