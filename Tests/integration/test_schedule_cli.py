"""`caraway schedule add|list|show|update|enable|disable|run|remove` (design §4) against a real
Postgres, with a real node firing what the CLI writes.
"""

from __future__ import annotations

import json
import time

from carawaytest import run_caraway, schedule_fires, wait_until


def test_schedule_cli_lifecycle(redis_server, postgres_server, start_node, caraway_bin):
    db = ["--database", postgres_server.url]

    def cli(*arguments, ok=True):
        result = run_caraway(caraway_bin, "schedule", *arguments, timeout=20)
        if ok:
            assert result.returncode == 0, f"caraway schedule {' '.join(arguments)} exited {result.returncode}: " \
                                           f"{result.stderr!r} {result.stdout!r}"
        return result

    def row():
        rows = postgres_server.sql("SELECT id, name, task, args, schedule, enabled FROM caraway_schedules WHERE name = 'cli'")
        return rows[0] if rows else None

    # The CLI may be the first to touch an empty database: it migrates, then writes.
    added = cli("add", "cli", "--task", "caraway.add", "--args", "[1,2]", "--every", "1", *db)
    assert "cli" in added.stdout
    created = row()
    assert created and created["task"] == "caraway.add" and created["args"] == [1, 2], created
    assert created["schedule"] == {"kind": "interval", "every": 1} and created["enabled"] is True
    sid = created["id"]

    node = start_node(redis_server.url, database=postgres_server, beat_lock_ttl=3)
    wait_until(lambda: len(schedule_fires(postgres_server, sid)) >= 2, 10, "the CLI's schedule to fire")
    result = wait_until(lambda: postgres_server.sql(
        "SELECT result FROM caraway_executions WHERE schedule_id = %s AND state = 'SUCCESS' LIMIT 1", (sid,)), 5,
        "a fired run in the history")
    assert result[0]["result"] == 3

    listing = json.loads(cli("list", "--json", *db).stdout)
    assert [(s["id"], s["name"], s["schedule"]) for s in listing["schedules"]] == [(sid, "cli", {"kind": "interval", "every": 1})]
    assert listing["schedules"][0]["total_run_count"] >= 2
    text_listing = cli("list", *db).stdout
    assert "cli" in text_listing and "caraway.add" in text_listing
    shown = json.loads(cli("show", "cli", "--json", *db).stdout)
    assert shown["id"] == sid and shown["task"] == "caraway.add" and shown["args"] == [1, 2]
    assert json.loads(cli("show", str(sid), "--json", *db).stdout)["name"] == "cli"
    assert "name: cli" in cli("show", "cli", *db).stdout

    # update --every 2: the row changes and the node follows the new cadence.
    updated = json.loads(cli("update", "cli", "--every", "2", "--json", *db).stdout)
    updated_at = time.time()
    assert updated["schedule"] == {"kind": "interval", "every": 2}
    assert row()["schedule"] == {"kind": "interval", "every": 2} and row()["args"] == [1, 2]
    fires = wait_until(lambda: (lambda f: f if len(f) >= 3 else None)(
        [f for f in schedule_fires(postgres_server, sid) if f["fired_at"] > updated_at + 1]), 10, "fires at the new cadence")
    assert all(abs(b["tick"] - a["tick"] - 2) < 0.01 for a, b in zip(fires, fires[1:])), fires

    # disable: no more fires; enable: fires again.
    cli("disable", "cli", *db)
    assert row()["enabled"] is False
    disabled_at = time.time()
    time.sleep(3)  # the observation window: two 2 s ticks would fall in it
    late = [f for f in schedule_fires(postgres_server, sid) if f["fired_at"] > disabled_at + 0.2]
    assert not late, f"a disabled schedule fired: {late}"
    cli("enable", "cli", *db)
    assert row()["enabled"] is True
    enabled_at = time.time()
    wait_until(lambda: [f for f in schedule_fires(postgres_server, sid) if f["fired_at"] > enabled_at], 5,
               "the re-enabled schedule to fire")

    # run: sends the task now, outside the cadence, linked to the schedule in the history.
    ran = cli("run", "cli", "--redis", redis_server.url, *db)
    task_id = ran.stdout.strip().splitlines()[-1]
    assert task_id and not task_id.startswith("beat-"), ran.stdout
    execution = wait_until(lambda: postgres_server.sql(
        "SELECT task, state, result, schedule_id FROM caraway_executions WHERE task_id = %s AND state = 'SUCCESS'",
        (task_id,)), 10, "the run-now task to execute")[0]
    assert execution == {"task": "caraway.add", "state": "SUCCESS", "result": 3, "schedule_id": sid}

    # remove: the row and its fire records are gone; show then fails.
    removed = cli("remove", "cli", *db)
    assert "removed" in removed.stdout
    assert row() is None and schedule_fires(postgres_server, sid) == []
    missing = cli("show", "cli", *db, ok=False)
    assert missing.returncode != 0 and "cli" in missing.stderr
    assert node.running()


def test_schedule_cli_rejects_bad_input_naming_the_field(postgres_server, caraway_bin):
    db = ["--database", postgres_server.url]

    def fails(*arguments, mention: str):
        result = run_caraway(caraway_bin, "schedule", *arguments, *db, timeout=20)
        assert result.returncode != 0, f"caraway schedule {' '.join(arguments)} succeeded: {result.stdout!r}"
        assert mention in result.stderr, f"{' '.join(arguments)}: stderr does not name {mention!r}: {result.stderr!r}"
        return result

    fails("add", "bad", "--task", "caraway.add", "--cron", "x", mention="schedule")
    fails("add", "bad", "--task", "caraway.add", "--cron", "61 * * * *", mention="schedule")
    fails("add", "bad", "--task", "no.such.task", "--every", "1", mention="task")
    fails("add", "bad", "--task", "caraway.add", "--every", "0", mention="schedule")
    fails("add", "bad", "--task", "caraway.add", "--every", "1", "--misfire", "sometimes", mention="misfire")
    fails("add", "bad", "--task", "caraway.add", "--every", "1", "--args", "[1,", mention="--args")
    fails("add", "bad", "--task", "caraway.add", "--every", "1", "--cron", "* * * * *", mention="--every")
    assert postgres_server.scalar("SELECT count(*) FROM caraway_schedules") == 0, "a refused schedule was written"
    ok = run_caraway(caraway_bin, "schedule", "add", "dup", "--task", "caraway.noop", "--every", "5", *db, timeout=20)
    assert ok.returncode == 0, ok.stderr
    fails("add", "dup", "--task", "caraway.noop", "--every", "5", mention="exists")
    fails("update", "no-such-schedule", "--every", "5", mention="no-such-schedule")
    assert postgres_server.scalar("SELECT count(*) FROM caraway_schedules") == 1


def test_schedule_cli_shows_rows_with_infinite_times_without_crashing(postgres_server, caraway_bin):
    """A row written by plain SQL with `end_at = 'infinity'` (valid PostgreSQL: "never ends")."""
    db = ["--database", postgres_server.url]
    added = run_caraway(caraway_bin, "schedule", "add", "forever", "--task", "caraway.noop", "--every", "60", *db, timeout=20)
    assert added.returncode == 0, added.stderr
    postgres_server.sql("UPDATE caraway_schedules SET end_at = 'infinity' WHERE name = 'forever'")
    for arguments in (("show", "forever"), ("show", "forever", "--json"), ("list", "--json")):
        result = run_caraway(caraway_bin, "schedule", *arguments, *db, timeout=20)
        crash = [line for line in result.stderr.splitlines() if "runtime failure" in line or "crashed" in line]
        assert result.returncode >= 0 and not crash, \
            f"caraway schedule {' '.join(arguments)} crashed (exit {result.returncode}): {crash[:2]}"
        assert result.returncode == 0 and "forever" in result.stdout, (arguments, result.returncode, result.stderr[:300])
