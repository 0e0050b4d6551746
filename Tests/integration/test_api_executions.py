"""The execution history REST API (docs/beat.md "Execution history", design §4): tasks run by nodes
appear in GET /api/v1/executions with their transitions, fired tasks carry their schedule and
tick, cursor pagination neither repeats nor skips rows, filters work, and /api/v1/stats counts.

Every expectation is checked against the `caraway_executions` rows in Postgres.
"""

from __future__ import annotations

import datetime
import urllib.parse

from carawaytest import api_call, schedule_fires, wait_until


def _enqueue(node, task: str, args) -> str:
    status, body, raw = api_call(node.http_port, "POST", "/api/v1/tasks", {"task": task, "args": args})
    assert status == 202, f"POST /api/v1/tasks answered {status}: {raw[:300]!r}"
    return body["task_id"]


def _get(node, path: str):
    status, body, raw = api_call(node.http_port, "GET", path)
    assert status == 200, f"GET {path} answered {status}: {raw[:300]!r}"
    return body


def _epoch(text: str) -> float:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_execution_history_transitions_schedule_links_pagination_filters_and_stats(redis_server, postgres_server, start_node):
    nodes = [start_node(redis_server.url, name=f"h{i}", database=postgres_server, beat_lock_ttl=3) for i in range(2)]
    node = nodes[0]
    added = [_enqueue(node, "caraway.add", [i, 2]) for i in range(3)]
    failed = _enqueue(nodes[1], "caraway.fail", ["boom"])
    # Several at once, so one history batch writes them with the same updated_at: pagination ties.
    noops = [_enqueue(node, "caraway.noop", []) for _ in range(7)]
    status, schedule, raw = api_call(node.http_port, "POST", "/api/v1/schedules",
                                     {"name": "hist", "task": "caraway.mul", "args": [2, 3],
                                      "schedule": {"kind": "interval", "every": 1}})
    assert status == 201, raw
    sid = schedule["id"]
    wait_until(lambda: postgres_server.scalar(
        "SELECT count(*) FROM caraway_executions WHERE schedule_id = %s AND state = 'SUCCESS'", (sid,)) >= 3, 10,
        "three fired runs recorded")
    status, _, raw = api_call(node.http_port, "POST", f"/api/v1/schedules/{sid}/disable")
    assert status == 200, raw
    ours = added + [failed] + noops

    previous = {}

    def settled():
        """The rows, once all are final, include every task, and did not change since the last poll."""
        rows = postgres_server.sql("SELECT task_id, state, updated_at FROM caraway_executions ORDER BY task_id")
        stable = rows == previous.get("rows")
        previous["rows"] = rows
        fired = {f["task_id"] for f in schedule_fires(postgres_server, sid)}
        terminal = all(r["state"] in ("SUCCESS", "FAILURE") for r in rows)
        have = {r["task_id"] for r in rows}
        pending = sum(n.health()["beat"]["history_pending"] for n in nodes)
        return rows if stable and terminal and set(ours) <= have and fired <= have and pending == 0 else None

    rows = wait_until(settled, 10, "every execution recorded in a final state", interval=0.5)
    # Nothing moves any more: the listing below is a stable snapshot.

    # One execution: the transitions the issue names, with node and result.
    execution = _get(node, f"/api/v1/executions/{added[1]}")
    assert execution["task"] == "caraway.add" and execution["state"] == "SUCCESS" and execution["result"] == 3
    assert [t["state"] for t in execution["transitions"]] == ["RECEIVED", "STARTED", "SUCCESS"], execution
    assert execution["node"] in {n.name for n in nodes} and execution["schedule_id"] is None
    assert execution["args"] == [1, 2]
    for key in ("received_at", "started_at", "finished_at"):
        assert execution[key], f"{key} missing: {execution}"
    assert _epoch(execution["received_at"]) <= _epoch(execution["started_at"]) <= _epoch(execution["finished_at"])
    failure = _get(node, f"/api/v1/executions/{failed}")
    assert failure["state"] == "FAILURE" and "boom" in (failure["error"] or ""), failure
    assert [t["state"] for t in failure["transitions"]] == ["RECEIVED", "STARTED", "FAILURE"], failure
    status, body, raw = api_call(node.http_port, "GET", "/api/v1/executions/no-such-task")
    assert status == 404, raw

    # Fired executions link back to their schedule and tick.
    fires = {f["task_id"]: f for f in schedule_fires(postgres_server, sid)}
    by_schedule = _get(node, f"/api/v1/schedules/{sid}/executions?limit=500")["executions"]
    assert {e["task_id"] for e in by_schedule} == set(fires), "the schedule's executions are its fires"
    for e in by_schedule:
        assert e["schedule_id"] == sid and e["task"] == "caraway.mul" and e["result"] == 6, e
        assert _epoch(e["tick"]) == fires[e["task_id"]]["tick"] or abs(_epoch(e["tick"]) - fires[e["task_id"]]["tick"]) < 1e-3
        assert e["task_id"] == f"beat-{sid}-{round(fires[e['task_id']]['tick'] * 1000)}"
        assert [t["state"] for t in e["transitions"]] == ["RECEIVED", "STARTED", "SUCCESS"], e

    # Cursor pagination, 2 at a time: every row exactly once, newest first, ending with a null cursor.
    seen, pages, cursor = [], 0, None
    while True:
        query = {"limit": "2"}
        if cursor:
            query["cursor"] = cursor
        page = _get(node, "/api/v1/executions?" + urllib.parse.urlencode(query))
        pages += 1
        assert len(page["executions"]) <= 2
        seen += page["executions"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 100, "pagination does not end"
    ids = [e["task_id"] for e in seen]
    assert len(ids) == len(set(ids)), f"pagination repeated rows: {ids}"
    assert set(ids) == {r["task_id"] for r in rows}, "pagination skipped rows"
    assert len({r["updated_at"] for r in rows}) < len(rows), "no two rows share updated_at: ties untested"
    order = [(e["updated_at"], e["task_id"]) for e in seen]
    assert [(_epoch(u), t) for u, t in order] == sorted(((_epoch(u), t) for u, t in order), reverse=True)
    everything = _get(node, "/api/v1/executions?limit=500")
    assert [e["task_id"] for e in everything["executions"]] == ids and everything["next_cursor"] is None

    # Filters.
    failures = _get(node, "/api/v1/executions?state=FAILURE")["executions"]
    assert [e["task_id"] for e in failures] == [failed]
    listed = _get(node, "/api/v1/executions?task=caraway.noop")["executions"]
    assert sorted(e["task_id"] for e in listed) == sorted(noops)
    scheduled = _get(node, f"/api/v1/executions?schedule_id={sid}&limit=500")["executions"]
    assert {e["task_id"] for e in scheduled} == set(fires)
    combined = _get(node, f"/api/v1/executions?state=SUCCESS&task=caraway.add&limit=500")["executions"]
    assert {e["task_id"] for e in combined} == set(added)
    for bad, field in (("state=BOGUS", "state"), ("limit=0", "limit"), ("schedule_id=x", "schedule_id"),
                       ("cursor=%25%25", "cursor"), ("since=yesterday", "since"), ("colour=red", "colour")):
        status, body, raw = api_call(node.http_port, "GET", f"/api/v1/executions?{bad}")
        assert status == 400 and body.get("field") == field, f"?{bad} answered {status}: {raw[:200]!r}"

    # Stats match the table.
    stats = _get(node, "/api/v1/stats")
    expected = {}
    for r in rows:
        expected[r["state"]] = expected.get(r["state"], 0) + 1
    assert stats["executions_by_state"] == expected and stats["total"] == len(rows), stats
