/// The schema, as numbered migrations. Each runs once, in order, inside one transaction that
/// first takes a transaction-scoped advisory lock — so nodes starting together migrate once and
/// the others wait, then find nothing to do.
enum Migrations {
    /// Arbitrary, fixed: the advisory lock key every Caraway node uses for migrations.
    static let advisoryLockKey = "7261727761790001"

    static let all: [(version: Int, sql: String)] = [
        (1, """
        CREATE TABLE caraway_schedules (
            id               bigserial PRIMARY KEY,
            name             text NOT NULL UNIQUE CHECK (name <> ''),
            task             text NOT NULL CHECK (task <> ''),
            args             jsonb NOT NULL DEFAULT '[]',
            kwargs           jsonb NOT NULL DEFAULT '{}',
            queue            text,
            schedule         jsonb NOT NULL,
            enabled          boolean NOT NULL DEFAULT true,
            start_at         timestamptz,
            end_at           timestamptz,
            misfire          text NOT NULL DEFAULT 'once',
            singleton        boolean NOT NULL DEFAULT false,
            description      text NOT NULL DEFAULT '',
            last_run_at      timestamptz,
            next_run_at      timestamptz,
            total_run_count  bigint NOT NULL DEFAULT 0,
            last_status      text,
            last_task_id     text,
            last_error       text,
            fence_epoch      bigint NOT NULL DEFAULT 0,
            created_at       timestamptz NOT NULL DEFAULT now(),
            updated_at       timestamptz NOT NULL DEFAULT now()
        );
        -- One row per fired tick: the unique key is what makes a tick fire at most once.
        CREATE TABLE caraway_schedule_fires (
            schedule_id  bigint NOT NULL REFERENCES caraway_schedules(id) ON DELETE CASCADE,
            tick         timestamptz NOT NULL,
            epoch        bigint NOT NULL,
            task_id      text NOT NULL,
            node         text NOT NULL,
            fired_at     timestamptz NOT NULL DEFAULT now(),
            enqueued_at  timestamptz,
            PRIMARY KEY (schedule_id, tick)
        );
        CREATE INDEX caraway_schedule_fires_outbox ON caraway_schedule_fires (fired_at) WHERE enqueued_at IS NULL;
        -- The highest beat epoch that has fired: a leader with an older epoch is fenced off.
        CREATE TABLE caraway_beat (
            id     smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
            epoch  bigint NOT NULL,
            leader text NOT NULL,
            since  timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE caraway_executions (
            task_id      text PRIMARY KEY,
            task         text NOT NULL,
            state        text NOT NULL,
            schedule_id  bigint,
            tick         timestamptz,
            args         jsonb,
            kwargs       jsonb,
            queue        text,
            node         text,
            child_pid    integer,
            retries      integer NOT NULL DEFAULT 0,
            runtime      double precision,
            result       jsonb,
            error        text,
            transitions  jsonb NOT NULL DEFAULT '[]',
            received_at  timestamptz,
            started_at   timestamptz,
            finished_at  timestamptz,
            updated_at   timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX caraway_executions_by_time ON caraway_executions (updated_at DESC, task_id DESC);
        CREATE INDEX caraway_executions_by_schedule ON caraway_executions (schedule_id, updated_at DESC);
        CREATE INDEX caraway_executions_by_state ON caraway_executions (state);
        -- Live edits: any change to a schedule, through Caraway or plain SQL, wakes the leader.
        -- Bookkeeping updates by the leader (last/next run, counts) do not notify: only definitions.
        CREATE FUNCTION caraway_schedules_notify() RETURNS trigger LANGUAGE plpgsql AS $f$
        BEGIN
            IF TG_OP = 'UPDATE' AND (NEW.name, NEW.task, NEW.args, NEW.kwargs, NEW.queue, NEW.schedule, NEW.enabled,
                                     NEW.start_at, NEW.end_at, NEW.misfire, NEW.singleton)
                IS NOT DISTINCT FROM (OLD.name, OLD.task, OLD.args, OLD.kwargs, OLD.queue, OLD.schedule, OLD.enabled,
                                      OLD.start_at, OLD.end_at, OLD.misfire, OLD.singleton) THEN
                RETURN NULL;
            END IF;
            PERFORM pg_notify('caraway_schedules', COALESCE(NEW.id, OLD.id)::text);
            RETURN NULL;
        END $f$;
        CREATE TRIGGER caraway_schedules_changed AFTER INSERT OR UPDATE OR DELETE ON caraway_schedules
            FOR EACH ROW EXECUTE FUNCTION caraway_schedules_notify();
        """),
    ]

    /// One statement list for the migration transaction.
    static var statements: [(sql: String, parameters: [String?])] {
        var list: [(sql: String, parameters: [String?])] = [
            ("SELECT pg_advisory_xact_lock(\(advisoryLockKey))", []),
            ("CREATE TABLE IF NOT EXISTS caraway_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())", []),
        ]
        for migration in all {
            // DO blocks cannot take parameters; the version is a trusted constant.
            list.append(("""
            DO $migration$ BEGIN
              IF NOT EXISTS (SELECT 1 FROM caraway_migrations WHERE version = \(migration.version)) THEN
                \(migration.sql)
                INSERT INTO caraway_migrations (version) VALUES (\(migration.version));
              END IF;
            END $migration$
            """, []))
        }
        return list
    }
}
