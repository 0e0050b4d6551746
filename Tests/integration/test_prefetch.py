"""Invariant I4: prefetch 1, literally. A node holds at most one message per child, so a second
node gets the rest of the work and a slow task never starves an idle node."""

from __future__ import annotations

import time

from carawaytest import INFLIGHT_PREFIX, wait_until


def held_by(client, node_name: str) -> int:
    """Messages in the in-flight hashes of the node called `node_name` (id = name-pid-suffix)."""
    return sum(client.hlen(key) for key in client.scan_iter(match=INFLIGHT_PREFIX + node_name.encode() + b"-*"))


def test_two_single_child_nodes_share_six_one_second_tasks_in_about_three_seconds(redis_server, start_node, celery_app):
    a = start_node(redis_server.url, concurrency=1)
    b = start_node(redis_server.url, concurrency=1)
    client = redis_server.client
    started = time.monotonic()
    results = [celery_app.send_task("caraway.sleep", args=[1]) for _ in range(6)]
    peak = {a.name: 0, b.name: 0}
    while not all(r.ready() for r in results):
        for node in (a, b):
            held = held_by(client, node.name)
            peak[node.name] = max(peak[node.name], held)
            assert held <= 1, f"{node.name} holds {held} messages with one child"
        assert time.monotonic() - started < 15, "six 1 s tasks on two nodes took too long"
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    assert [r.get(timeout=1) for r in results] == [1] * 6
    # Two children in parallel: 3 s of work each, plus a little dispatch overhead.
    assert 2.9 <= elapsed < 4.5, f"took {elapsed:.2f}s; prefetch beyond 1 would serialise work on one node"
    assert peak[a.name] == 1 and peak[b.name] == 1, f"both nodes must have worked: {peak}"


def test_a_node_never_holds_more_messages_than_children(redis_server, start_node, celery_app):
    node = start_node(redis_server.url, concurrency=2)
    client = redis_server.client
    results = [celery_app.send_task("caraway.sleep", args=[0.3]) for _ in range(10)]
    while not all(r.ready() for r in results):
        assert held_by(client, node.name) <= 2
        time.sleep(0.01)
    assert all(r.get(timeout=1) == 0.3 for r in results)
    wait_until(lambda: held_by(client, node.name) == 0, 5, "in-flight to empty")


def rpop_calls(client) -> int:
    return int(client.info("commandstats").get("cmdstat_rpop", {}).get("calls", 0))


def test_a_message_landing_on_idle_nodes_costs_one_reserve_per_node_not_one_per_child(redis_server, start_node,
                                                                                       celery_app):
    """No thundering herd: when a message lands while every child idles, each node probes with
    one reserve (its other children keep waiting on the queue), instead of one reserve per idle
    child. Measured on 3 nodes × 8 children: 25 → 4 scripts per call (docs/performance.md).

    Counted in RPOPs, which only reserves make (heartbeats and other periodic scripts do not):
    a reserve pops each of the queue's 4 priority lists until one has a message."""
    nodes = [start_node(redis_server.url, concurrency=6) for _ in range(2)]
    client = redis_server.client
    assert celery_app.send_task("caraway.add", args=[1, 1]).get(timeout=10) == 2  # everyone warm and idle
    time.sleep(0.5)
    for round_ in range(5):
        before = rpop_calls(client)
        assert celery_app.send_task("caraway.add", args=[round_, 1]).get(timeout=10) == round_ + 1
        time.sleep(0.3)  # the losing node's probe, and any re-arm, are answered
        rpops = rpop_calls(client) - before
        # The winner's probe (1 RPOP) and settle-and-reserve (4), the other node's probe (4): 9.
        # One reserve per idle child would be ~11 × 4 + 1.
        assert rpops <= 4 * (len(nodes) + 1), f"round {round_}: {rpops} RPOPs for one message on {len(nodes)} idle nodes"
    assert all(node.process.poll() is None for node in nodes)
