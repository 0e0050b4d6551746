import CarawayPostgres
import CarawayProtocol

/// All SQL of Caraway, as named queries over one Postgres connection (house rule 7).
///
/// Every method issues one statement (or one transaction) and completes exactly once on the loop
/// thread. Times cross the boundary as epoch seconds (`to_timestamp` / `extract(epoch …)`).
public final class Store {
    public let connection: PostgresConnection

    public init(connection: PostgresConnection) { self.connection = connection }

    public typealias Completion<T> = (Result<T, PostgresError>) -> Void

    /// Applies pending migrations under an advisory lock: safe when many nodes start at once.
    public func migrate(_ done: @escaping Completion<Void>) {
        connection.transaction(Migrations.statements) { done($0.map { _ in () }) }
    }

    // MARK: schedules

    public func scheduleList(_ done: @escaping Completion<[ScheduleRecord]>) {
        connection.query("SELECT \(ScheduleRecord.columns) FROM caraway_schedules ORDER BY id") { result in
            done(result.map { $0.rows.map(ScheduleRecord.init(row:)) })
        }
    }

    public func scheduleGet(id: Int64, _ done: @escaping Completion<ScheduleRecord?>) {
        connection.query("SELECT \(ScheduleRecord.columns) FROM caraway_schedules WHERE id = $1", [String(id)]) { result in
            done(result.map { $0.rows.first.map(ScheduleRecord.init(row:)) })
        }
    }

    public func scheduleGet(name: String, _ done: @escaping Completion<ScheduleRecord?>) {
        connection.query("SELECT \(ScheduleRecord.columns) FROM caraway_schedules WHERE name = $1", [name]) { result in
            done(result.map { $0.rows.first.map(ScheduleRecord.init(row:)) })
        }
    }

    public func scheduleInsert(_ definition: ScheduleDefinition, _ done: @escaping Completion<ScheduleRecord>) {
        connection.query("""
            INSERT INTO caraway_schedules (name, task, args, kwargs, queue, schedule, enabled, start_at, end_at, misfire,
                                           singleton, description, next_run_at)
            VALUES ($1, $2, $3::jsonb, $4::jsonb, $5, $6::jsonb, $7::boolean, to_timestamp($8::double precision),
                    to_timestamp($9::double precision), $10, $11::boolean, $12, to_timestamp($13::double precision))
            RETURNING \(ScheduleRecord.columns)
            """, definition.parameters) { result in
            done(result.flatMap { r in
                r.rows.first.map { .success(ScheduleRecord(row: $0)) } ?? .failure(.unexpected("INSERT returned no row"))
            })
        }
    }

    /// Replaces a schedule's definition. `resetNextRun` sets `next_run_at` from the definition
    /// (a changed schedule starts its new cadence); nil when the id does not exist.
    public func scheduleUpdate(id: Int64, _ definition: ScheduleDefinition, _ done: @escaping Completion<ScheduleRecord?>) {
        connection.query("""
            UPDATE caraway_schedules SET name = $1, task = $2, args = $3::jsonb, kwargs = $4::jsonb, queue = $5,
                   schedule = $6::jsonb, enabled = $7::boolean, start_at = to_timestamp($8::double precision),
                   end_at = to_timestamp($9::double precision), misfire = $10, singleton = $11::boolean,
                   description = $12, next_run_at = to_timestamp($13::double precision), updated_at = now()
             WHERE id = $14
            RETURNING \(ScheduleRecord.columns)
            """, definition.parameters + [String(id)]) { result in
            done(result.map { $0.rows.first.map(ScheduleRecord.init(row:)) })
        }
    }

    public func scheduleDelete(id: Int64, _ done: @escaping Completion<Bool>) {
        connection.query("DELETE FROM caraway_schedules WHERE id = $1", [String(id)]) { result in
            done(result.map { $0.affectedRows == 1 })
        }
    }

    /// Sets `next_run_at` only if it still has the value the caller read (the leader initialising a
    /// row written by plain SQL, or skipping a singleton tick) and the caller's epoch is current.
    public func scheduleAdvance(id: Int64, expectedNextRunAt: Double?, nextRunAt: Double?, epoch: Int64, status: String?,
                                _ done: @escaping Completion<Bool>) {
        connection.query("""
            UPDATE caraway_schedules SET next_run_at = to_timestamp($2::double precision), fence_epoch = $3::bigint,
                   last_status = COALESCE($5, last_status), updated_at = now()
             WHERE id = $1 AND fence_epoch <= $3::bigint
               AND next_run_at IS NOT DISTINCT FROM to_timestamp($4::double precision)
               AND EXISTS (SELECT 1 FROM caraway_beat WHERE id = 1 AND epoch = $3::bigint)
            """, [String(id), nextRunAt.map { String($0) }, String(epoch), expectedNextRunAt.map { String($0) }, status]) { result in
            done(result.map { $0.affectedRows == 1 })
        }
    }

    public func scheduleRecordStatus(id: Int64, status: String, error: String?, _ done: @escaping Completion<Void>) {
        connection.query("UPDATE caraway_schedules SET last_status = $2, last_error = $3 WHERE id = $1",
                         [String(id), status, error]) { done($0.map { _ in () }) }
    }

    // MARK: beat fencing and fires

    /// Records `epoch` as the current beat term if it is newer than the stored one (or equal: the
    /// same leader re-fencing). False when a newer term has fenced already: this node must not fire.
    public func beatFence(epoch: Int64, node: String, _ done: @escaping Completion<Bool>) {
        connection.query("""
            INSERT INTO caraway_beat (id, epoch, leader) VALUES (1, $1::bigint, $2)
            ON CONFLICT (id) DO UPDATE SET epoch = EXCLUDED.epoch, leader = EXCLUDED.leader, since = now()
             WHERE caraway_beat.epoch <= EXCLUDED.epoch
            RETURNING epoch
            """, [String(epoch), node]) { result in
            done(result.map { !$0.rows.isEmpty })
        }
    }

    /// The fire of one schedule's due ticks, as ONE statement (so one atomic step):
    /// - only if `epoch` is the current fence and not older than the row's;
    /// - only if `next_run_at` is still what the leader planned from (nobody fired meanwhile);
    /// - the schedule's last/next run and count advance, and one fire row per tick is inserted;
    ///   the (schedule, tick) primary key makes a second fire of a tick impossible.
    /// Completes with the ticks that were recorded (empty: fenced off or already fired).
    public func scheduleFire(_ params: FireParams, _ done: @escaping Completion<[RecordedFire]>) {
        connection.query("""
            WITH upd AS (
                UPDATE caraway_schedules s
                   SET last_run_at = to_timestamp($2::double precision), next_run_at = to_timestamp($3::double precision),
                       total_run_count = s.total_run_count + $4::bigint, fence_epoch = $5::bigint, last_task_id = $6,
                       last_status = 'SENT', enabled = s.enabled AND NOT $10::boolean, updated_at = now()
                 WHERE s.id = $1 AND s.fence_epoch <= $5::bigint
                   AND s.next_run_at IS NOT DISTINCT FROM to_timestamp($7::double precision)
                   AND EXISTS (SELECT 1 FROM caraway_beat WHERE id = 1 AND epoch = $5::bigint)
                RETURNING s.id
            )
            INSERT INTO caraway_schedule_fires (schedule_id, tick, epoch, task_id, node)
            SELECT upd.id, to_timestamp(t.tick), $5::bigint, t.task_id, $11
              FROM upd, unnest($8::double precision[], $9::text[]) AS t(tick, task_id)
            ON CONFLICT DO NOTHING
            RETURNING extract(epoch FROM tick) AS tick, task_id
            """, [String(params.scheduleID), params.ticks.last.map { String($0) }, params.newNextRunAt.map { String($0) },
                  String(params.ticks.count), String(params.epoch), params.taskIDs.last, params.expectedNextRunAt.map { String($0) },
                  SQLArray.doubles(params.ticks), SQLArray.texts(params.taskIDs), params.disableAfter ? "true" : "false",
                  params.node]) { result in
            done(result.map { $0.rows.compactMap { row in
                guard let tick = row.double("tick"), let id = row["task_id"] else { return nil }
                return RecordedFire(scheduleID: params.scheduleID, tick: tick, taskID: id)
            } })
        }
    }

    /// Outbox: the fire rows are enqueued to Redis; mark them so the next leader does not repeat them.
    public func fireMarkEnqueued(scheduleID: Int64, ticks: [Double], _ done: @escaping Completion<Void>) {
        connection.query("""
            UPDATE caraway_schedule_fires SET enqueued_at = now()
             WHERE schedule_id = $1 AND tick = ANY (SELECT to_timestamp(x) FROM unnest($2::double precision[]) AS x)
            """, [String(scheduleID), SQLArray.doubles(ticks)]) { done($0.map { _ in () }) }
    }

    /// Fires committed but never confirmed enqueued (a leader crashed in between), oldest first.
    public func firesPendingEnqueue(olderThan seconds: Double, _ done: @escaping Completion<[PendingFire]>) {
        connection.query("""
            SELECT f.schedule_id, extract(epoch FROM f.tick) AS tick, f.task_id, s.name, s.task, s.args::text AS args,
                   s.kwargs::text AS kwargs, s.queue
              FROM caraway_schedule_fires f JOIN caraway_schedules s ON s.id = f.schedule_id
             WHERE f.enqueued_at IS NULL AND f.fired_at < now() - make_interval(secs => $1::double precision)
             ORDER BY f.fired_at LIMIT 500
            """, [String(seconds)]) { result in
            done(result.map { $0.rows.map(PendingFire.init(row:)) })
        }
    }
}

public struct FireParams: Sendable {
    public var scheduleID: Int64
    public var epoch: Int64
    public var node: String
    public var ticks: [Double]
    public var taskIDs: [String]
    public var expectedNextRunAt: Double?
    public var newNextRunAt: Double?
    /// One-off schedules disable themselves when they fire.
    public var disableAfter: Bool

    public init(scheduleID: Int64, epoch: Int64, node: String, ticks: [Double], taskIDs: [String],
                expectedNextRunAt: Double?, newNextRunAt: Double?, disableAfter: Bool) {
        self.scheduleID = scheduleID
        self.epoch = epoch
        self.node = node
        self.ticks = ticks
        self.taskIDs = taskIDs
        self.expectedNextRunAt = expectedNextRunAt
        self.newNextRunAt = newNextRunAt
        self.disableAfter = disableAfter
    }
}

public struct RecordedFire: Sendable, Equatable {
    public var scheduleID: Int64
    public var tick: Double
    public var taskID: String

    public init(scheduleID: Int64, tick: Double, taskID: String) {
        self.scheduleID = scheduleID
        self.tick = tick
        self.taskID = taskID
    }
}

public struct PendingFire: Sendable {
    public var scheduleID: Int64
    public var tick: Double
    public var taskID: String
    public var name: String
    public var task: String
    public var args: JSON
    public var kwargs: JSON
    public var queue: String?

    init(row: PostgresRow) {
        scheduleID = row.int64("schedule_id") ?? 0
        tick = row.double("tick") ?? 0
        taskID = row["task_id"] ?? ""
        name = row["name"] ?? ""
        task = row["task"] ?? ""
        args = (try? JSON.parse(row["args"] ?? "[]")) ?? .array([])
        kwargs = (try? JSON.parse(row["kwargs"] ?? "{}")) ?? .object([:])
        queue = row["queue"]
    }
}
