"""Graceful shutdown: SIGTERM lets running tasks finish, gives back what was not started, exits 0.
A second signal requeues what runs and exits at once."""

from __future__ import annotations

import time

from carawaytest import inflight_total, queue_length, registered_nodes, wait_until


def test_sigterm_during_a_two_second_task_finishes_it_and_gives_back_the_rest(redis_server, start_node, celery_app):
    node = start_node(redis_server.url, concurrency=1)
    client = redis_server.client
    running = celery_app.send_task("caraway.sleep", args=[2])
    wait_until(lambda: node.health().get("active") == 1, 10, "the sleep task to start")
    waiting = [celery_app.send_task("caraway.add", args=[i, i]) for i in range(3)]
    time.sleep(0.2)
    node.terminate()
    assert node.wait(timeout=15) == 0
    assert running.get(timeout=5) == 2
    assert queue_length(client, "celery") == 3, "the unstarted messages must be back on the queue"
    assert inflight_total(client) == 0
    assert registered_nodes(client) == {}
    assert all(not r.ready() for r in waiting)


def test_a_second_signal_requeues_the_running_task_and_exits(redis_server, start_node, celery_app):
    node = start_node(redis_server.url, concurrency=1)
    client = redis_server.client
    result = celery_app.send_task("caraway.sleep", args=[30])
    wait_until(lambda: node.health().get("active") == 1, 10, "the long task to start")
    node.terminate()
    time.sleep(0.3)
    node.terminate()
    assert node.wait(timeout=10) != 0
    assert queue_length(client, "celery") == 1, "the forced-out task must be back on its queue"
    assert inflight_total(client) == 0
    assert not result.ready()
