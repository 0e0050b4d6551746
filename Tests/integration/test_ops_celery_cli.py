"""Stock Celery tooling against Caraway nodes (spec §5): `celery inspect`, `celery control`,
`celery status` and `celery purge` from the venv's Celery 5.7, unchanged, must see Caraway nodes
as Celery workers (node name = --name).

What each command prints was checked against a Python Celery worker with the same parsers
(test_ops_celery_reference.py). Note: Celery 5.7's CLI has no `control revoke --terminate`
option; a terminate from the CLI is `celery control terminate SIGNAL ID...` (pidbox method
"terminate", arguments {"signal", "task_id": [ids]}), while the Python API's
`app.control.revoke(id, terminate=True, signal=...)` sends method "revoke".
"""

from __future__ import annotations

import uuid

from carawaytest import inflight_total, polled_result, queue_length, wait_until
from opstest import (BUILTIN_TASKS, check_celery_stats, check_request_info, describe, parse_celery_replies,
                     parse_purge_output, pid_alive)
from opstest import celery_cli, producer  # noqa: F401 (pytest fixtures)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_celery_inspect_ping_registered_stats_and_status_see_caraway_nodes(redis_server, start_node, celery_cli):
    first = start_node(redis_server.url, name=unique("cli-a"), concurrency=2, queues="celery,cli-extra")
    second = start_node(redis_server.url, name=unique("cli-b"), concurrency=2)
    nodes = {first.name: first, second.name: second}
    celery_cli.wait_nodes(nodes)

    # No destination: Celery collects for the whole --timeout, so every node must have answered.
    assert celery_cli.inspect_json("ping") == {name: {"ok": "pong"} for name in nodes}
    result = celery_cli.remote("inspect", "ping")
    assert result.returncode == 0, describe(result)
    replies, count = parse_celery_replies(result.stdout)
    assert replies == {name: {"status": "OK", "body": ["pong"], "items": []} for name in nodes}, result.stdout
    assert count == 2, result.stdout

    # A destination is honoured: with a second, absent name Celery waits the full timeout, so a
    # node that ignored the destination would show up here.
    assert celery_cli.inspect_json("ping", destination=[first.name, "ghost@nowhere"]) == {first.name: {"ok": "pong"}}

    registered = celery_cli.inspect_json("registered", destination=list(nodes))
    assert set(registered) == set(nodes)
    for name, tasks in registered.items():
        assert tasks == sorted(tasks), f"{name}: registered is not sorted: {tasks}"
        assert set(BUILTIN_TASKS) <= set(tasks), f"{name}: {tasks}"
        assert not [t for t in tasks if t.startswith("celery.")], tasks

    stats = celery_cli.inspect_json("stats", destination=list(nodes))
    assert set(stats) == set(nodes)
    for name, node in nodes.items():
        check_celery_stats(stats[name], pid=node.pid, concurrency=2, redis_port=redis_server.port)
        assert set(stats[name]["pool"]["processes"]) == set(node.children()), (stats[name]["pool"], node.children())
        assert stats[name]["prefetch_count"] == 2, "prefetch 1 per child"

    # Flower polls active_queues and conf; each node reports the queues it consumes.
    queues = celery_cli.inspect_json("active_queues", destination=list(nodes))
    assert {q["name"] for q in queues[first.name]} == {"celery", "cli-extra"}, queues[first.name]
    assert {q["name"] for q in queues[second.name]} == {"celery"}, queues[second.name]
    conf = celery_cli.inspect_json("conf", destination=list(nodes))
    assert set(conf) == set(nodes) and all(isinstance(c, dict) for c in conf.values()), conf

    result = celery_cli.run("status")
    assert result.returncode == 0, describe(result)
    replies, count = parse_celery_replies(result.stdout)
    assert set(replies) == set(nodes) and all(r["status"] == "OK" for r in replies.values()), result.stdout
    assert count == 2, result.stdout


def test_celery_active_purge_revoke_and_terminate_on_caraway_nodes(redis_server, start_node, celery_cli, producer):
    a = start_node(redis_server.url, name=unique("cli-a"), concurrency=1)
    b = start_node(redis_server.url, name=unique("cli-b"), concurrency=1)
    nodes = {a.name: a, b.name: b}
    celery_cli.wait_nodes(nodes)
    client = redis_server.client
    sleepers = [producer.send_task("caraway.sleep", args=[30]) for _ in range(2)]

    def one_each():
        replies = celery_cli.inspect_json("active", destination=list(nodes))
        return all(len(replies.get(name, [])) == 1 for name in nodes) and replies
    active = wait_until(one_each, 15, "each node to report its running sleep", interval=0.2)
    holder = {}  # task id -> (node, child pid)
    for name, entries in active.items():
        entry = entries[0]
        check_request_info(entry, hostname=name, name="caraway.sleep", args=[30], started=True)
        assert entry["worker_pid"] in nodes[name].children(), f"{entry['worker_pid']} is not a child of {name}"
        holder[entry["id"]] = (nodes[name], entry["worker_pid"])
    assert set(holder) == {s.id for s in sleepers}

    result = celery_cli.remote("inspect", "active", destination=list(nodes))
    replies, count = parse_celery_replies(result.stdout)
    assert count == 2 and {item["id"] for r in replies.values() for item in r["items"]} == set(holder), result.stdout

    # Prefetch 1: nothing reserved while every child is busy, however long the backlog.
    backlog = [producer.send_task("caraway.add", args=[i, i], priority=5 if i == 0 else 0) for i in range(5)]
    wait_until(lambda: queue_length(client) == 5, 5, "the backlog to be queued")
    assert celery_cli.inspect_json("reserved", destination=list(nodes)) == {name: [] for name in nodes}

    # purge is client-side (kombu deletes the lists, every priority sub-list): Caraway's queue empties.
    result = celery_cli.run("purge", "-f")
    assert result.returncode == 0, describe(result)
    assert parse_purge_output(result.stdout) == (5, 1), result.stdout
    assert queue_length(client) == 0
    assert inflight_total(client) == 2, "purge must not touch the messages the nodes hold"

    # control revoke (no terminate) of a queued task: each node flags it, it never runs.
    queued = producer.send_task("caraway.add", args=[20, 22])
    replies = celery_cli.control_json("revoke", queued.id, destination=list(nodes))
    assert replies == {name: {"ok": f"tasks {{'{queued.id}'}} flagged as revoked"} for name in nodes}, replies

    # control terminate SIGTERM ID: the node running it answers "terminate: ID" and kills that child.
    victim = sleepers[0].id
    node, child = holder[victim]
    result = celery_cli.remote("control", "terminate", "SIGTERM", victim, destination=list(nodes))
    assert result.returncode == 0, describe(result)
    replies, _ = parse_celery_replies(result.stdout)
    assert set(replies) == set(nodes) and all(r["status"] == "OK" for r in replies.values()), result.stdout
    assert replies[node.name]["body"] == [f"terminate: {victim}"], result.stdout
    wait_until(lambda: sleepers[0].state == "REVOKED", 15, "the terminated task to be REVOKED")
    wait_until(lambda: not pid_alive(child), 15, f"child {child} to die")
    wait_until(lambda: len(node.children()) == 1 and child not in node.children(), 10, "a replacement child")

    # The freed node consumes the revoked queued task and discards it; it still serves new work.
    assert polled_result(producer.send_task("caraway.add", args=[2, 3]), 15) == 5
    wait_until(lambda: queue_length(client) == 0 and inflight_total(client) == 1, 10, "only the other sleep in flight")
    assert queued.state == "REVOKED", queued.state
    assert sleepers[0].state == "REVOKED", "the terminated task was re-run"
    active = celery_cli.inspect_json("active", destination=list(nodes))
    assert victim not in {e["id"] for entries in active.values() for e in entries}, active

    # The Python API: revoke(terminate=True, signal="SIGKILL") is method "revoke" with arguments.
    other = sleepers[1].id
    node, child = holder[other]
    replies = producer.control.revoke(other, terminate=True, signal="SIGKILL", reply=True,
                                        destination=[node.name], timeout=2)
    assert replies == [{node.name: {"ok": f"terminate: {other}"}}], replies
    wait_until(lambda: sleepers[1].state == "REVOKED", 15, "the SIGKILLed task to be REVOKED")
    wait_until(lambda: not pid_alive(child), 10, f"child {child} to die")
    assert a.running() and b.running()

    revoked = celery_cli.inspect_json("revoked", destination=list(nodes))
    for name in nodes:  # queued and victim were broadcast to both nodes, `other` only to its holder
        assert {queued.id, victim} <= set(revoked[name]), (name, revoked[name])
    assert other in revoked[node.name], revoked[node.name]

    result = celery_cli.run("status")
    replies, count = parse_celery_replies(result.stdout)
    assert result.returncode == 0 and set(replies) == set(nodes) and count == 2, result.stdout
    assert all(r.state == "PENDING" for r in backlog), "a purged task ran"
