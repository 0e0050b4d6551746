"""Python Celery as the producer, a Caraway node as the worker.

What Python publishes (send_task, canvas chain and group, eta) must run on Caraway, and what
Caraway stores must read back through Python's AsyncResult/GroupResult exactly as a Python
worker's results would (spec §1 and §4).
"""

from __future__ import annotations

import json
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone

import pytest
from celery import group
from celery.result import AsyncResult

from carawaytest import delayed_count, inflight_total, polled_result, queue_length, wait_until

# A caraway.script target: appends one line per run to the file named in its parameters and
# returns the time it ran, so a test can count runs and check when the first one happened.
APPEND_SCRIPT = textwrap.dedent(f'''\
    #!{sys.executable}
    import json, os, time
    params = json.loads(os.environ["SCRIPT_PARAMETERS"])
    ran_at = time.time()
    with open(params["path"], "a") as out:
        out.write(json.dumps({{"execution_id": os.environ.get("EXECUTION_ID"),
                               "script": os.environ.get("SCRIPT_NAME"), "ran_at": ran_at}}) + "\\n")
    print(json.dumps({{"ran_at": ran_at, "tag": params.get("tag")}}))
''')


@pytest.fixture
def scripts_dir(tmp_path):
    directory = tmp_path / "scripts"
    directory.mkdir()
    script = directory / "append-line"
    script.write_text(APPEND_SCRIPT)
    script.chmod(0o755)
    return directory


@pytest.fixture
def node(redis_server, start_node, scripts_dir):
    return start_node(redis_server.url, concurrency=2, scripts_dir=scripts_dir)


def as_utc_timestamp(moment: datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def test_send_task_add_returns_sum(node, celery_app):
    result = celery_app.send_task("caraway.add", args=[2, 3])
    assert result.get(timeout=10) == 5
    assert result.state == "SUCCESS"


def test_chain_add_then_mul_passes_the_result_on(node, celery_app):
    # add(2, 2) = 4, then mul(4, 4) = 16: the chain travels reversed in embed.chain (spec §1.4).
    workflow = celery_app.signature("caraway.add", args=(2, 2)) | celery_app.signature("caraway.mul", args=(4,))
    result = workflow.apply_async()
    assert polled_result(result, 10) == 16
    assert result.parent is not None
    assert polled_result(result.parent, 10) == 4


def test_group_of_ten_adds_returns_results_in_order(node, celery_app):
    result = group(celery_app.signature("caraway.add", args=(i, i)) for i in range(10)).apply_async()
    assert result.get(timeout=20) == [2 * i for i in range(10)]
    assert all(child.state == "SUCCESS" for child in result.results)


def test_echo_round_trips_unicode_and_nested_kwargs(node, celery_app):
    args = [
        "héllo wörld",
        "日本語のテキスト",
        "emoji 🎉 outside the BMP 𝄞",
        "עברית right-to-left",
        "e\u0301 combining accent",
        'quotes " and \\ backslash\nnewline\ttab',
        "",
        42,
        -7,
        1.5,
        True,
        None,
    ]
    kwargs = {
        "nested": {"list": [1, 2.25, None, False, {"deep": ["ü", {"deeper": {}}]}], "empty_list": []},
        "ключ": "значение",
        "big": 2**62,
        "small_float": 1.5e-7,
        "empty": {},
    }
    result = celery_app.send_task("caraway.echo", args=args, kwargs=kwargs)
    assert result.get(timeout=10) == {"args": args, "kwargs": kwargs}


def test_eta_task_runs_after_its_eta_exactly_once(node, celery_app, redis_server, tmp_path):
    runs = tmp_path / "eta-runs.jsonl"
    sent_at = time.time()
    eta = datetime.now(timezone.utc) + timedelta(seconds=2)
    result = celery_app.send_task("caraway.script", args=["append-line", {"path": str(runs), "tag": "eta"}],
                                  eta=eta)

    value = result.get(timeout=15)
    returned_at = time.time()
    assert value["tag"] == "eta"
    # The task itself ran no earlier than its eta (same machine clock; 10 ms for rounding).
    assert value["ran_at"] >= eta.timestamp() - 0.01, f"ran {eta.timestamp() - value['ran_at']:.3f}s before eta"
    assert as_utc_timestamp(result.date_done) >= eta.timestamp() - 0.01
    assert returned_at - sent_at >= 2.0

    # Exactly once: give a duplicate time to show up, then count the script's lines.
    time.sleep(1.5)
    lines = runs.read_text().splitlines()
    assert len(lines) == 1, f"eta task ran {len(lines)} times: {lines}"
    client = redis_server.client
    assert delayed_count(client) == 0
    assert queue_length(client, "celery") == 0
    wait_until(lambda: inflight_total(client) == 0, 5, "in-flight records to be cleared")


def test_eta_task_waits_in_the_delayed_set_not_in_a_node(node, celery_app, redis_server, tmp_path):
    # Design §3.1: an ETA message waits in caraway:delayed, never held in a worker's memory or
    # in-flight record, so no node pins it (and prefetch stays at K, invariant I4).
    runs = tmp_path / "eta-runs.jsonl"
    eta = datetime.now(timezone.utc) + timedelta(seconds=3)
    result = celery_app.send_task("caraway.script", args=["append-line", {"path": str(runs), "tag": "later"}],
                                  eta=eta)
    client = redis_server.client
    wait_until(lambda: delayed_count(client) == 1, 2.5, "the eta message to move to caraway:delayed")
    assert inflight_total(client) == 0
    assert queue_length(client, "celery") == 0
    assert not runs.exists()
    assert result.get(timeout=15)["tag"] == "later"
    assert delayed_count(client) == 0


def test_failing_task_raises_its_message_in_python(node, celery_app):
    message = "boom: the disk is on fire (ünïcode)"
    result = celery_app.send_task("caraway.fail", args=[message])
    with pytest.raises(Exception) as raised:
        result.get(timeout=10)
    assert message in str(raised.value)
    assert result.state == "FAILURE"
    assert result.failed()
    assert message in str(result.result)


def test_async_result_state_moves_from_pending_to_success(redis_server, start_node, celery_app):
    result = celery_app.send_task("caraway.add", args=[20, 22])
    # Nobody consumes yet: Celery reports an absent result key as PENDING.
    assert AsyncResult(result.id, app=celery_app).state == "PENDING"

    start_node(redis_server.url, concurrency=1)
    state = wait_until(lambda: AsyncResult(result.id, app=celery_app).state == "SUCCESS" and "SUCCESS", 10,
                       "the task's state to become SUCCESS")
    assert state == "SUCCESS"
    fresh = AsyncResult(result.id, app=celery_app)
    assert fresh.result == 42
    assert fresh.date_done is not None
    # The stored record is Celery's backend format (spec §4.2).
    stored = json.loads(redis_server.client.get(f"celery-task-meta-{result.id}".encode()))
    assert stored["status"] == "SUCCESS"
    assert stored["task_id"] == result.id
    assert stored["result"] == 42
