"""Out-of-range values through the REST API and in plain-SQL schedule rows (design §2 I5: bad input
gets a clear 4xx / log line / INVALID mark, and the node goes on serving).

These came out of the schemathesis run (test_api_openapi.py) and of probing its neighbourhood:
times far beyond any calendar are where number-to-timestamp conversions break.
"""

from __future__ import annotations

import base64
import time
import urllib.parse

import pytest
from carawaytest import api_call, beat_health, queue_length, schedule_fires, wait_until


def _assert_alive(node) -> None:
    time.sleep(0.2)  # a crashing node dies within milliseconds of the request
    if not node.running():
        crash = [line for line in node.log_text().splitlines() if "runtime failure" in line or " in caraway at " in line]
        raise AssertionError(f"the node died (exit {node.process.returncode}):\n" + "\n".join(crash[:8]))
    assert node.health()["status"] == "ok"


@pytest.mark.parametrize("field,value", [("countdown", 1e13), ("countdown", 1e300), ("expires", 1e300)])
def test_enqueue_with_an_out_of_range_countdown_or_expires_is_refused_and_the_node_stays_up(
        redis_server, postgres_server, start_node, field, value):
    node = start_node(redis_server.url, database=postgres_server)
    try:
        status, body, raw = api_call(node.http_port, "POST", "/api/v1/tasks", {"task": "caraway.noop", field: value})
    except OSError as error:
        status, body, raw = None, None, repr(error).encode()
    _assert_alive(node)
    assert status == 400, f"POST /api/v1/tasks {{{field}: {value}}} answered {status}: {raw[:200]!r}"
    assert body["field"] == field, body
    assert queue_length(redis_server.client) == 0 and redis_server.client.zcard(b"caraway:delayed") == 0


def test_schedule_rows_with_infinite_times_do_not_crash_the_api(redis_server, postgres_server, start_node):
    node = start_node(redis_server.url, database=postgres_server, beat_lock_ttl=3)
    good = postgres_server.scalar("""INSERT INTO caraway_schedules (name, task, args, schedule)
        VALUES ('good', 'caraway.add', '[1, 2]', '{"kind": "interval", "every": 1}') RETURNING id""")
    # Valid PostgreSQL a DBA may well write ("never ends"), but no finite epoch.
    forever = postgres_server.scalar("""INSERT INTO caraway_schedules (name, task, schedule, end_at)
        VALUES ('forever', 'caraway.noop', '{"kind": "interval", "every": 1}', 'infinity') RETURNING id""")
    wait_until(lambda: len(schedule_fires(postgres_server, good)) >= 2, 8, "the good schedule firing")
    for path in ("/api/v1/schedules", f"/api/v1/schedules/{forever}"):
        try:
            status, body, raw = api_call(node.http_port, "GET", path)
        except OSError as error:
            status, raw = None, repr(error).encode()
        _assert_alive(node)
        assert status is not None and status < 500, f"GET {path} answered {status}: {raw[:200]!r}"
    fired = len(schedule_fires(postgres_server, good))
    wait_until(lambda: len(schedule_fires(postgres_server, good)) > fired, 3, "the good schedule to keep firing")


def test_interval_too_long_to_schedule_is_refused_by_the_api(redis_server, postgres_server, start_node):
    node = start_node(redis_server.url, database=postgres_server)
    status, body, raw = api_call(node.http_port, "POST", "/api/v1/schedules",
                                 {"name": "never", "task": "caraway.noop", "schedule": {"kind": "interval", "every": 1e300}})
    assert status == 400 and body.get("field") == "schedule", \
        f"an interval whose first tick no timestamp can hold answered {status}: {raw[:200]!r}"
    assert postgres_server.scalar("SELECT count(*) FROM caraway_schedules") == 0


def test_sql_row_whose_ticks_cannot_be_stored_is_marked_invalid_not_retried_forever(
        redis_server, postgres_server, start_node):
    node = start_node(redis_server.url, database=postgres_server, beat_lock_ttl=3)
    wait_until(lambda: beat_health(node).get("leader"), 10, "the node to lead the beat")
    good = postgres_server.scalar("""INSERT INTO caraway_schedules (name, task, args, schedule)
        VALUES ('good', 'caraway.add', '[1, 2]', '{"kind": "interval", "every": 1}') RETURNING id""")
    never = postgres_server.scalar("""INSERT INTO caraway_schedules (name, task, schedule)
        VALUES ('never', 'caraway.noop', '{"kind": "interval", "every": 1e300}') RETURNING id""")
    wait_until(lambda: len(schedule_fires(postgres_server, good)) >= 2, 8, "the good schedule firing")

    def server_errors() -> int:
        return sum(1 for line in postgres_server.log_path.read_text(errors="replace").splitlines() if "ERROR" in line)

    before = server_errors()
    time.sleep(3)  # observation window: how often the leader retries a statement that cannot succeed
    retried = server_errors() - before
    row = postgres_server.sql("SELECT last_status, last_error FROM caraway_schedules WHERE id = %s", (never,))[0]
    assert row["last_status"] == "INVALID" and row["last_error"], \
        f"the unschedulable row is not marked INVALID ({row}); Postgres logged {retried} errors in 3 s retrying it"
    assert retried <= 1, f"the leader keeps retrying a statement that cannot succeed: {retried} server errors in 3 s"


def test_nul_characters_bound_for_postgres_get_a_400_or_404_not_a_database_error(redis_server, postgres_server, start_node):
    # Found by the API fuzzer (test_api_openapi.py): PostgreSQL's text and jsonb cannot hold U+0000,
    # and a schedule with one in a nested kwargs key came back as a 503 from the database.
    node = start_node(redis_server.url, database=postgres_server)
    good = {"name": "nul-probe", "task": "caraway.echo", "schedule": {"kind": "interval", "every": 60}}
    status, created, raw = api_call(node.http_port, "POST", "/api/v1/schedules", good)
    assert status == 201, raw[:300]
    schedule = f"/api/v1/schedules/{created['id']}"
    bad_bodies = [
        ("POST", "/api/v1/schedules", {**good, "name": "nul\u0000name"}, "name"),
        ("POST", "/api/v1/schedules", {**good, "name": "other", "kwargs": {"k": {"\u0000key": 1}}}, "kwargs"),
        ("PATCH", schedule, {"task": "caraway.echo", "kwargs": {"$": {"a\u0000": None}}, "enabled": True}, "kwargs"),
        ("PATCH", schedule, {"args": [["deep", ["\u0000"]]]}, "args"),
        ("PATCH", schedule, {"description": "x\u0000"}, "description"),
        ("PUT", schedule, {**good, "schedule": {"kind": "interval", "every": 60, "note": "\u0000"}}, "schedule"),
    ]
    for method, path, body, field in bad_bodies:
        status, answer, raw = api_call(node.http_port, method, path, body)
        assert status == 400, f"{method} {path} {body!r} answered {status}: {raw[:300]!r}"
        assert answer["field"] == field and "U+0000" in answer["error"], answer
    status, row, _ = api_call(node.http_port, "GET", schedule)
    assert status == 200 and row["name"] == "nul-probe" and row["kwargs"] == {} and row["args"] == [], row
    assert postgres_server.scalar("SELECT count(*) FROM caraway_schedules") == 1
    # The executions API: a task filter, an execution id and a crafted cursor.
    status, answer, raw = api_call(node.http_port, "GET", "/api/v1/executions?task=a%00b")
    assert status == 400 and answer["field"] == "task", raw[:300]
    status, answer, raw = api_call(node.http_port, "GET", "/api/v1/executions/a%00b")
    assert status == 404, raw[:300]
    cursor = base64.b64encode(b"1.5|a\x00b").decode()
    status, answer, raw = api_call(node.http_port, "GET", f"/api/v1/executions?cursor={urllib.parse.quote(cursor)}")
    assert status == 400 and answer["field"] == "cursor", raw[:300]
    _assert_alive(node)
