"""Queues, priorities and routes as kombu lays them out and Celery users configure them."""

from __future__ import annotations

import json
import subprocess
import time

from carawaytest import polled_result, queue_length, wait_until


def test_a_node_consumes_several_queues_fairly(redis_server, start_node, celery_app):
    client = redis_server.client
    a = [celery_app.send_task("caraway.pid", queue="alpha") for _ in range(20)]
    b = [celery_app.send_task("caraway.pid", queue="beta") for _ in range(20)]
    node = start_node(redis_server.url, concurrency=1, queues="alpha,beta")
    # After half of the work, both queues must have been served: neither is starved.
    wait_until(lambda: sum(r.ready() for r in a + b) >= 10, 20, "ten tasks to finish")
    served_a = 20 - queue_length(client, "alpha")
    served_b = 20 - queue_length(client, "beta")
    assert served_a >= 3 and served_b >= 3, f"unfair: alpha {served_a}, beta {served_b}"
    assert all(isinstance(r.get(timeout=20), int) for r in a + b)
    assert node.running()


def test_a_node_ignores_queues_it_does_not_consume(redis_server, start_node, celery_app):
    start_node(redis_server.url, concurrency=1, queues="alpha")
    other = celery_app.send_task("caraway.add", args=[1, 1], queue="elsewhere")
    mine = celery_app.send_task("caraway.add", args=[2, 2], queue="alpha")
    assert mine.get(timeout=10) == 4
    time.sleep(0.3)
    assert not other.ready()
    assert queue_length(redis_server.client, "elsewhere") == 1


def test_higher_priority_messages_are_served_first(redis_server, start_node, celery_app):
    # kombu on Redis: priority 0 is served first; 9 last.
    low = [celery_app.send_task("caraway.pid", priority=9) for _ in range(5)]
    high = [celery_app.send_task("caraway.pid", priority=0) for _ in range(5)]
    start_node(redis_server.url, concurrency=1)
    for r in low + high:
        r.get(timeout=20)
    done_high = max(r.date_done for r in high)
    first_low = min(r.date_done for r in low)
    assert done_high <= first_low, "priority-0 messages must all run before priority-9 ones"


def test_caraway_call_routes_by_task_name_glob(redis_server, caraway_bin):
    routes = json.dumps({"reports.*": "reports", "caraway.sleep": "slow"})
    for task, queue in [("reports.daily", "reports"), ("caraway.sleep", "slow"), ("caraway.add", "celery")]:
        out = subprocess.run([str(caraway_bin), "call", task, "--redis", redis_server.url, "--routes", routes],
                             capture_output=True, text=True, timeout=20)
        assert out.returncode == 0, out.stderr
        assert queue_length(redis_server.client, queue) == 1, f"{task} should be on {queue}"


def test_caraway_call_rejects_a_malformed_routing_table(redis_server, caraway_bin):
    out = subprocess.run([str(caraway_bin), "call", "x", "--redis", redis_server.url, "--routes", '{"a": 3}'],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode != 0
    assert "routes" in out.stderr


def test_chain_steps_without_a_queue_follow_the_node_routes(redis_server, start_node, celery_app):
    start_node(redis_server.url, concurrency=1, queues="celery,math", routes=json.dumps({"caraway.mul": "math"}))
    client = redis_server.client
    chain = celery_app.signature("caraway.add", args=(2, 2)) | celery_app.signature("caraway.mul", args=(4,))
    assert polled_result(chain.apply_async(), 15) == 16
