"""Time limits, retries and expiry behave as a Celery user expects."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from carawaytest import delayed_count, inflight_total, wait_until


@pytest.fixture
def node(redis_server, start_node):
    return start_node(redis_server.url, concurrency=1)


def test_the_soft_time_limit_is_told_to_the_task_and_it_stops(node, celery_app):
    # timelimit header is [hard, soft]; Celery's soft_time_limit option sets the second.
    result = celery_app.send_task("caraway.sleep", args=[10], soft_time_limit=0.5)
    started = time.monotonic()
    with pytest.raises(Exception) as failure:
        result.get(timeout=10)
    assert "SoftTimeLimitExceeded" in type(failure.value).__name__ + str(failure.value)
    assert time.monotonic() - started < 5
    assert celery_app.send_task("caraway.add", args=[1, 1]).get(timeout=10) == 2


def test_the_hard_time_limit_kills_the_child_and_fails_the_task(node, celery_app):
    before = set(node.children())
    result = celery_app.send_task("caraway.sleep", args=[10], time_limit=0.5)
    with pytest.raises(Exception) as failure:
        result.get(timeout=10)
    assert "TimeLimitExceeded" in type(failure.value).__name__ + str(failure.value)
    wait_until(lambda: node.children() and set(node.children()) != before, 10, "a fresh child")
    assert celery_app.send_task("caraway.add", args=[2, 2]).get(timeout=10) == 4


def test_a_retried_task_keeps_its_id_and_succeeds_after_its_retries(node, celery_app):
    result = celery_app.send_task("caraway.flaky", args=[2, 0.2])
    assert result.get(timeout=20) == 2
    assert result.state == "SUCCESS"


def test_a_task_that_exhausts_its_retries_fails_with_max_retries_exceeded(node, celery_app, redis_server):
    result = celery_app.send_task("caraway.flaky", args=[10, 0.1], kwargs={"max_retries": 2})
    with pytest.raises(Exception) as failure:
        result.get(timeout=20)
    assert "MaxRetriesExceeded" in type(failure.value).__name__ + str(failure.value)
    wait_until(lambda: delayed_count(redis_server.client) == 0 and inflight_total(redis_server.client) == 0, 5,
               "nothing left delayed or in flight")


def test_an_expired_task_is_revoked_not_run(node, celery_app):
    result = celery_app.send_task("caraway.add", args=[1, 2],
                                  expires=datetime.now(timezone.utc) - timedelta(seconds=5))
    wait_until(lambda: result.state == "REVOKED", 10, "the expired task to be revoked")
    assert celery_app.send_task("caraway.add", args=[3, 4]).get(timeout=10) == 7


def test_a_countdown_task_waits_in_redis_not_in_the_node(node, celery_app, redis_server):
    result = celery_app.send_task("caraway.add", args=[5, 5], countdown=1.5)
    wait_until(lambda: delayed_count(redis_server.client) == 1, 5, "the task to be parked in the delayed set")
    assert inflight_total(redis_server.client) == 0, "a not-yet-due task must not be held in flight"
    assert node.health()["held"] == 0
    assert result.get(timeout=10) == 10
