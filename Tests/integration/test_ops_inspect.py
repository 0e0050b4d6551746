"""`caraway inspect` (cluster-wide inspect as a Redis read of per-node snapshots), a node's
GET /inspect/{what} and GET /api/v1/cluster/inspect/{what}: payloads shaped like Celery's replies
(spec §5.6), staleness of a frozen node, exit codes, and the speed of a cluster ping.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid

from carawaytest import (api_call, delayed_count, inflight_total, polled_result, queue_length, run_caraway,
                         wait_until)
from opstest import (BUILTIN_TASKS, caraway_inspect, check_celery_stats, check_inspect_report, check_request_info,
                     describe, ensure_continued, nodes_by_name, p99, parse_caraway_inspect_human, wait_all_ok)
from opstest import producer  # noqa: F401 (pytest fixture)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_inspect_active_and_reserved_on_three_busy_nodes(redis_server, start_node, producer, caraway_bin):
    started = [start_node(redis_server.url, name=unique(f"insp{i}"), concurrency=1) for i in range(3)]
    nodes = {n.name: n for n in started}
    client = redis_server.client
    sent_at = time.time()
    running = [producer.send_task("caraway.sleep", args=[30]) for _ in range(3)]
    wait_until(lambda: inflight_total(client) == 3, 10, "each node to take one sleep")
    backlog = [producer.send_task("caraway.sleep", args=[30]) for _ in range(4)]
    wait_until(lambda: queue_length(client) == 4, 5, "the backlog to be queued")

    def all_active():
        code, report, _ = caraway_inspect(caraway_bin, redis_server.url, "active", ok_codes=(0, 1))
        by_name = nodes_by_name(report)
        return (code == 0 and set(by_name) == set(nodes)
                and all(len(by_name[n]["reply"] or []) == 1 for n in nodes) and report)
    report = wait_until(all_active, 10, "`caraway inspect active` to show one task per node", interval=0.2)
    assert report["summary"] == {"ok": 3, "stale": 0, "missing": 0}
    seen = set()
    for entry_node in report["nodes"]:
        node = nodes[entry_node["name"]]
        assert entry_node["status"] == "ok" and entry_node["age_s"] < 3, entry_node
        assert entry_node["node_id"] == node.node_id(), entry_node
        (task,) = entry_node["reply"]
        check_request_info(task, hostname=node.name, name="caraway.sleep", args=[30], started=True)
        assert task["time_start"] >= sent_at - 1, task
        assert task["worker_pid"] in node.children(), f"worker_pid {task['worker_pid']} is not a child of {node.name}"
        seen.add(task["id"])
    assert seen == {r.id for r in running}

    # The human form: "-> NAME: OK" then the payload, which names the task.
    result = run_caraway(caraway_bin, "inspect", "active", "--redis", redis_server.url)
    assert result.returncode == 0, describe(result)
    human = parse_caraway_inspect_human(result.stdout)
    assert set(human) == set(nodes) and all(h["status"] == "OK" for h in human.values()), result.stdout
    for entry_node in report["nodes"]:
        assert entry_node["reply"][0]["id"] in human[entry_node["name"]]["body"], result.stdout

    # Prefetch 1: while every child is busy nothing is reserved, whatever the backlog.
    code, reserved, _ = caraway_inspect(caraway_bin, redis_server.url, "reserved")
    assert code == 0 and {n["name"]: n["reply"] for n in reserved["nodes"]} == {name: [] for name in nodes}, reserved
    assert queue_length(client) == 4 and not seen & {r.id for r in backlog}

    # The same through one node's HTTP: its own payload, and the cluster view.
    some = next(iter(nodes.values()))
    status, body, raw = api_call(some.http_port, "GET", "/inspect/active")
    assert status == 200 and list(body) == [some.name], raw
    assert [t["id"] for t in body[some.name]] == [nodes_by_name(report)[some.name]["reply"][0]["id"]], raw
    status, body, raw = api_call(some.http_port, "GET", "/inspect/reserved")
    assert status == 200 and body == {some.name: []}, raw
    status, cluster, raw = api_call(some.http_port, "GET", "/api/v1/cluster/inspect/active")
    assert status == 200, raw
    check_inspect_report(cluster, "active")
    assert {n["name"]: [t["id"] for t in n["reply"]] for n in cluster["nodes"]} == \
        {n["name"]: [t["id"] for t in n["reply"]] for n in report["nodes"]}
    status, queues, raw = api_call(some.http_port, "GET", "/api/v1/queues")
    assert status == 200, raw
    celery_queue = next(q for q in queues["queues"] if q["name"] == "celery")
    assert celery_queue["waiting"] == 4 and celery_queue["in_flight"] == 3 and celery_queue["delayed"] == 0, queues


def test_inspect_stats_shows_the_pool_after_recycling(redis_server, start_node, producer, caraway_bin):
    node = start_node(redis_server.url, name=unique("recycle"), concurrency=2, max_tasks_per_child=2)

    def stats():
        _, report, _ = caraway_inspect(caraway_bin, redis_server.url, "stats", ok_codes=(0, 1, 69))
        (entry,) = report["nodes"]
        return entry["status"] == "ok" and entry["reply"]
    first = wait_until(lambda: (s := stats()) and set(s["pool"]["processes"]) == set(node.children()) and s, 5,
                       "stats to show the first pool")
    check_celery_stats(first, pid=node.pid, concurrency=2, redis_port=redis_server.port)
    assert first["pool"]["max-tasks-per-child"] == 2, first["pool"]
    assert first["prefetch_count"] == 2
    caraway = first["caraway"]
    assert caraway["node_id"] == node.node_id(), caraway
    assert {"leader", "epoch"} <= set(caraway["beat"]), caraway
    assert isinstance(caraway["loop_lag_ms"], (int, float)) and isinstance(caraway["child_restarts"], dict), caraway
    initial = set(first["pool"]["processes"])

    pids = [polled_result(r, 20) for r in [producer.send_task("caraway.pid") for _ in range(6)]]
    assert set(pids) - initial, f"six tasks with --max-tasks-per-child 2 ran on the first children only: {pids}"
    retired = {pid for pid in pids if pids.count(pid) == 2}
    assert retired, pids

    def recycled():
        s = stats()
        processes = set(s["pool"]["processes"])
        return (processes == set(node.children()) and len(processes) == 2 and not processes & retired
                and s["total"].get("caraway.pid") == 6 and s)
    after = wait_until(recycled, 10, "stats to show the recycled pool and six tasks")
    assert set(after["pool"]["processes"]) != initial
    assert sum(after["caraway"]["child_restarts"].values()) >= len(retired), after["caraway"]["child_restarts"]
    assert int(after["clock"]) >= int(first["clock"])


def test_inspect_reports_a_stopped_node_stale_and_the_rest_ok(redis_server, start_node, caraway_bin):
    # A long lease keeps the frozen node registered (not recovered as dead) for the whole test.
    nodes = [start_node(redis_server.url, name=unique(f"frz{i}"), concurrency=1, lease_seconds=30) for i in range(3)]
    frozen = nodes[1]
    report = wait_all_ok(caraway_bin, redis_server.url, [n.name for n in nodes])
    assert {n["name"]: n["reply"] for n in report["nodes"]} == {n.name: {"ok": "pong"} for n in nodes}

    stopped_at = time.monotonic()
    os.kill(frozen.pid, signal.SIGSTOP)
    try:
        def frozen_is_stale():
            started = time.monotonic()
            code, report, _ = caraway_inspect(caraway_bin, redis_server.url, "ping", "--timeout", "2",
                                              ok_codes=(0, 1))
            assert time.monotonic() - started < 2.5, "inspect did not return within its --timeout"
            return code == 1 and nodes_by_name(report)[frozen.name]["status"] == "stale" and report
        # Default --stale-after is 3 s, and snapshots are refreshed every second.
        report = wait_until(frozen_is_stale, 6, "the stopped node to be reported stale", interval=0.2)
        assert time.monotonic() - stopped_at >= 1.8, "reported stale before its snapshot could be 3 s old"
        by_name = nodes_by_name(report)
        assert by_name[frozen.name]["age_s"] >= 3, by_name[frozen.name]
        assert report["summary"] == {"ok": 2, "stale": 1, "missing": 0}, report["summary"]
        for node in (nodes[0], nodes[2]):
            assert by_name[node.name]["status"] == "ok" and by_name[node.name]["reply"] == {"ok": "pong"}

        result = run_caraway(caraway_bin, "inspect", "ping", "--redis", redis_server.url)
        assert result.returncode == 1, describe(result)
        human = parse_caraway_inspect_human(result.stdout)
        assert human[frozen.name]["status"] == "STALE" and human[frozen.name]["age"] >= 3, result.stdout
        assert human[nodes[0].name]["status"] == "OK" and human[nodes[2].name]["status"] == "OK", result.stdout

        # --stale-after moves the line: with a minute, the frozen node's snapshot is still fresh.
        code, report, _ = caraway_inspect(caraway_bin, redis_server.url, "ping", "--stale-after", "60")
        assert code == 0 and report["summary"] == {"ok": 3, "stale": 0, "missing": 0}, report

        # None fresh: exit 69 (EX_UNAVAILABLE, like Celery's CLI when no node replies).
        for node in (nodes[0], nodes[2]):
            os.kill(node.pid, signal.SIGSTOP)
        wait_until(lambda: caraway_inspect(caraway_bin, redis_server.url, "ping", ok_codes=(0, 1, 69))[0] == 69, 8,
                   "exit 69 with every node stopped", interval=0.2)
    finally:
        ensure_continued(*(n.pid for n in nodes))
    wait_until(lambda: caraway_inspect(caraway_bin, redis_server.url, "ping", ok_codes=(0, 1))[0] == 0, 8,
               "every node fresh again after SIGCONT", interval=0.2)


def test_cluster_ping_p99_under_50_ms_with_three_nodes(redis_server, start_node, caraway_bin):
    names = {start_node(redis_server.url, name=unique(f"ping{i}"), concurrency=1).name for i in range(3)}
    wait_all_ok(caraway_bin, redis_server.url, names)
    took = []
    for _ in range(50):
        code, report, _ = caraway_inspect(caraway_bin, redis_server.url, "ping")
        assert code == 0 and {n["name"] for n in report["nodes"]} == names, report
        took.append(report["took_ms"])
    assert p99(took) < 50, f"p99 {p99(took):.1f} ms over 50 runs: {sorted(took)[-5:]}"


def test_inspect_registered_scheduled_and_revoked(redis_server, start_node, producer, caraway_bin):
    node = start_node(redis_server.url, name=unique("misc"), concurrency=1)
    wait_all_ok(caraway_bin, redis_server.url, [node.name])
    code, report, _ = caraway_inspect(caraway_bin, redis_server.url, "registered")
    (entry,) = report["nodes"]
    assert entry["reply"] == sorted(entry["reply"]) and set(BUILTIN_TASKS) <= set(entry["reply"]), entry

    later = producer.send_task("caraway.add", args=[1, 2], countdown=60)
    wait_until(lambda: delayed_count(redis_server.client) == 1, 10, "the countdown task to move to the delayed set")
    code, report, _ = caraway_inspect(caraway_bin, redis_server.url, "scheduled")
    assert report["delayed"]["total"] == 1, report["delayed"]
    assert later.id in json.dumps(report["delayed"]["entries"]), report["delayed"]

    ghost = str(uuid.uuid4())
    result = run_caraway(caraway_bin, "revoke", ghost, "--redis", redis_server.url)
    assert result.returncode == 0, describe(result)

    def listed():
        _, report, _ = caraway_inspect(caraway_bin, redis_server.url, "revoked")
        return ghost in (report["nodes"][0]["reply"] or [])
    wait_until(listed, 5, "`caraway inspect revoked` to list the id")
    status, body, raw = api_call(node.http_port, "GET", "/inspect/revoked")
    assert status == 200 and ghost in body[node.name], raw
    status, body, raw = api_call(node.http_port, "GET", "/inspect/ping")
    assert status == 200 and body == {node.name: {"ok": "pong"}}, raw
