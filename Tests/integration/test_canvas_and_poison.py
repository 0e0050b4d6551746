"""Linked tasks (callbacks and errbacks) as Celery sends them, and poison messages that kill
every child that runs them."""

from __future__ import annotations

import stat
import uuid

import pytest
from celery.result import AsyncResult

from carawaytest import dead_letters, inflight_total, wait_until


@pytest.fixture
def node(redis_server, start_node, tmp_path):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    killer = scripts / "kill-my-worker"
    # Kills the pool child running it: the task can never finish on any child.
    killer.write_text("#!/bin/sh\nkill -9 $PPID\nsleep 5\n")
    killer.chmod(killer.stat().st_mode | stat.S_IXUSR)
    return start_node(redis_server.url, concurrency=1, scripts_dir=str(scripts), max_deliveries=3)


def test_a_link_callback_gets_the_result_prepended(node, celery_app):
    callback_id = str(uuid.uuid4())
    callback = celery_app.signature("caraway.mul", args=(10,)).set(task_id=callback_id)
    parent = celery_app.send_task("caraway.add", args=[2, 3], link=callback)
    assert parent.get(timeout=10) == 5
    assert AsyncResult(callback_id, app=celery_app).get(timeout=10) == 50
    assert [child.id for child in parent.children] == [callback_id]


def test_a_link_error_callback_gets_the_failed_task_id(node, celery_app):
    errback_id = str(uuid.uuid4())
    errback = celery_app.signature("caraway.echo").set(task_id=errback_id)
    failing = celery_app.send_task("caraway.fail", args=["on purpose"], link_error=errback)
    with pytest.raises(Exception):
        failing.get(timeout=10)
    echoed = AsyncResult(errback_id, app=celery_app).get(timeout=10)
    assert echoed == {"args": [failing.id], "kwargs": {}}


def test_a_poison_message_is_dead_lettered_after_max_deliveries(node, celery_app, redis_server):
    poison = celery_app.send_task("caraway.script", args=["kill-my-worker", {}])
    with pytest.raises(Exception) as failure:
        poison.get(timeout=60)
    assert "WorkerLost" in type(failure.value).__name__ + str(failure.value)
    entries = wait_until(lambda: [e for e in dead_letters(redis_server.client) if e.get("task_id") == poison.id], 10,
                         "the poison message in caraway:dead")
    assert "poison" in entries[0]["reason"]
    assert inflight_total(redis_server.client) == 0
    assert celery_app.send_task("caraway.add", args=[1, 1]).get(timeout=15) == 2
