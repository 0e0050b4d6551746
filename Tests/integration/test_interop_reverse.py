"""Caraway as the producer, a stock Python Celery worker as the consumer.

No Caraway node runs here: a message that `caraway call` publishes must be accepted and run by
Python Celery unchanged (envelope, properties.delivery_tag/delivery_info, base64 body, kombu
queue keys; spec §1–§2), and `caraway call --wait` must read the result record a Python worker
wrote (spec §4).
"""

from __future__ import annotations

import json
import subprocess
import uuid

from celery.result import AsyncResult

from carawaytest import queue_keys, queue_length, run_caraway


def caraway_call(caraway_bin, redis_url: str, task: str, *options: str):
    """`caraway call TASK --redis URL OPTIONS...` run to completion."""
    return run_caraway(caraway_bin, "call", task, "--redis", redis_url, *options)


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    assert lines, "no output"
    return lines[-1]


def printed_task_id(completed: subprocess.CompletedProcess) -> str:
    assert completed.returncode == 0, (
        f"caraway call exited {completed.returncode}\nstdout: {completed.stdout}\nstderr: {completed.stderr}")
    task_id = last_line(completed.stdout)
    assert task_id and " " not in task_id, f"not a task id: {completed.stdout!r}"
    return task_id


def test_python_worker_runs_a_message_python_produced(redis_server, celery_app, start_python_worker):
    # Control for the tests below: the stock worker and its `caraway.add` work on this Redis, so a
    # failure below is about what Caraway published.
    result = celery_app.send_task("caraway.add", args=[2, 3])
    assert queue_length(redis_server.client, "celery") == 1
    start_python_worker()
    assert result.get(timeout=20) == 5


def test_caraway_call_message_runs_on_a_stock_python_worker(caraway_bin, redis_server, celery_app,
                                                            start_python_worker):
    completed = caraway_call(caraway_bin, redis_server.url, "caraway.add", "--args", "[2,3]")
    task_id = printed_task_id(completed)
    # It sits on kombu's plain `celery` list, where any Celery consumer looks.
    assert redis_server.client.llen(b"celery") == 1
    envelope = json.loads(redis_server.client.lindex(b"celery", 0))
    assert envelope["headers"]["task"] == "caraway.add"
    assert envelope["headers"]["id"] == task_id

    start_python_worker()
    result = AsyncResult(task_id, app=celery_app)
    assert result.get(timeout=20) == 5
    assert result.state == "SUCCESS"


def test_caraway_call_wait_prints_the_result_a_python_worker_stored(caraway_bin, redis_server,
                                                                    start_python_worker):
    start_python_worker()
    completed = caraway_call(caraway_bin, redis_server.url, "caraway.add", "--args", "[2,3]", "--wait",
                             "--timeout", "20")
    assert completed.returncode == 0, f"stdout: {completed.stdout}\nstderr: {completed.stderr}"
    assert json.loads(last_line(completed.stdout)) == 5


def test_caraway_call_wait_fails_when_the_python_task_fails(caraway_bin, redis_server, start_python_worker):
    start_python_worker()
    message = f"kaboom-{uuid.uuid4().hex[:8]}"
    completed = caraway_call(caraway_bin, redis_server.url, "caraway.fail", "--args", json.dumps([message]),
                             "--wait", "--timeout", "20")
    assert completed.returncode != 0, f"exit 0 for a failed task; stdout: {completed.stdout}"
    assert message in completed.stdout + completed.stderr


def test_caraway_call_queue_and_priority_follow_kombu_keys(caraway_bin, redis_server, celery_app,
                                                           start_python_worker):
    completed = caraway_call(caraway_bin, redis_server.url, "caraway.mul", "--args", "[6,7]", "--queue", "other",
                             "--priority", "5")
    task_id = printed_task_id(completed)
    # Priority 5 → step 3 → `other\x06\x163` (spec §2.1); nothing on the default queue.
    lengths = {key: redis_server.client.llen(key) for key in queue_keys("other")}
    assert lengths == {b"other": 0, b"other\x06\x163": 1, b"other\x06\x166": 0, b"other\x06\x169": 0}
    assert queue_length(redis_server.client, "celery") == 0

    start_python_worker(queues="other")
    assert AsyncResult(task_id, app=celery_app).get(timeout=20) == 42


def test_caraway_call_kwargs_round_trip_through_python(caraway_bin, redis_server, celery_app,
                                                       start_python_worker):
    args = ["héllo", "🎉 日本", 1, 2.5, None, True]
    kwargs = {"nested": {"list": [1, {"ü": []}], "empty": {}}, "text": 'quote " backslash \\'}
    completed = caraway_call(caraway_bin, redis_server.url, "caraway.echo", "--args",
                             json.dumps(args, ensure_ascii=False), "--kwargs", json.dumps(kwargs, ensure_ascii=False))
    task_id = printed_task_id(completed)
    start_python_worker()
    assert AsyncResult(task_id, app=celery_app).get(timeout=20) == {"args": args, "kwargs": kwargs}
