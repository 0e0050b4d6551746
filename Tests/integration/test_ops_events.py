"""Celery's event stream from Caraway nodes (spec §6): worker-online/heartbeat/offline always,
task-* events with --task-events or after Celery's `enable_events` control command, read by
`caraway events` and by Celery's own EventReceiver (what Flower and `celery events` use).
"""

from __future__ import annotations

import time
import uuid

from carawaytest import polled_result, wait_until
from opstest import CeleryEventCapture, EventTail, events_of, parse_celery_replies, subscribers
from opstest import celery_cli, producer  # noqa: F401 (pytest fixtures)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def check_common_fields(event: dict) -> None:
    assert isinstance(event.get("type"), str) and isinstance(event.get("hostname"), str), event
    assert isinstance(event.get("timestamp"), (int, float)), event
    if event["type"].startswith("task-"):
        assert isinstance(event.get("uuid"), str) and len(event["uuid"]) == 36, event


def test_caraway_events_sees_worker_and_task_events(redis_server, start_node, producer, caraway_bin):
    client = redis_server.client
    baseline = subscribers(client)
    tail = EventTail(caraway_bin, redis_server.url, "--timeout", "20")
    try:
        tail.wait_subscribed(client, baseline)
        node = start_node(redis_server.url, name=unique("ev"), concurrency=1, task_events=True)
        ok = producer.send_task("caraway.add", args=[2, 3])
        bad = producer.send_task("caraway.fail", args=["boom"])
        assert polled_result(ok, 10) == 5
        wait_until(bad.ready, 10, "the failing task")

        def complete(events):
            return (events_of(events, "worker-online", hostname=node.name)
                    and events_of(events, "worker-heartbeat", hostname=node.name)
                    and events_of(events, "task-succeeded", uuid=ok.id)
                    and events_of(events, "task-failed", uuid=bad.id) and events)
        events = tail.wait_for(complete, 10, "worker-online, a heartbeat and the task events")
        assert not tail.bad_lines, tail.bad_lines
        for event in events:
            check_common_fields(event)
        for kind in ("task-received", "task-started", "task-succeeded"):
            (event,) = events_of(events, kind, uuid=ok.id)
            assert event["hostname"] == node.name, event
        received = events_of(events, "task-received", uuid=ok.id)[0]
        assert received["name"] == "caraway.add", received
        succeeded = events_of(events, "task-succeeded", uuid=ok.id)[0]
        assert succeeded["result"] == "5" and isinstance(succeeded["runtime"], (int, float)), succeeded
        failed = events_of(events, "task-failed", uuid=bad.id)[0]
        assert "boom" in failed["exception"], failed
        order = [e["type"] for e in events if e.get("uuid") == ok.id]
        assert order == ["task-received", "task-started", "task-succeeded"], order
        heartbeat = events_of(events, "worker-heartbeat", hostname=node.name)[0]
        assert heartbeat["freq"] == 2 and isinstance(heartbeat["active"], int), heartbeat

        node.terminate()
        tail.wait_for(lambda ev: events_of(ev, "worker-offline", hostname=node.name), 10, "worker-offline")
    finally:
        tail.stop()


def test_caraway_events_count_and_timeout_end_the_tail(redis_server, start_node, producer, caraway_bin):
    client = redis_server.client
    node = start_node(redis_server.url, name=unique("evc"), concurrency=2, task_events=True)
    baseline = subscribers(client)
    tail = EventTail(caraway_bin, redis_server.url, "--count", "5", "--timeout", "20")
    try:
        tail.wait_subscribed(client, baseline)
        results = [producer.send_task("caraway.add", args=[i, i]) for i in range(4)]  # 12 task events
        assert [polled_result(r, 10) for r in results] == [0, 2, 4, 6]
        assert tail.wait_exit(10) == 0
        events = tail.snapshot()
        assert len(events) == 5 and not tail.bad_lines, (events, tail.bad_lines)
        for event in events:
            check_common_fields(event)
            assert event["hostname"] == node.name, event
    finally:
        tail.stop()

    # --timeout alone: with no node sending anything, it ends after about that long.
    node.kill_group()
    started = time.monotonic()
    quiet = EventTail(caraway_bin, redis_server.url, "--timeout", "1")
    try:
        quiet.wait_exit(5)
        assert 0.8 <= time.monotonic() - started < 5 and quiet.snapshot() == [], quiet.snapshot()
    finally:
        quiet.stop()


def test_enable_events_turns_task_events_on_for_celery_receivers(redis_server, start_node, producer, celery_cli):
    node = start_node(redis_server.url, name=unique("evon"), concurrency=1)  # no --task-events
    capture = CeleryEventCapture(producer).start(redis_server.client)
    try:
        capture.wait_for(lambda ev: events_of(ev, "worker-heartbeat", hostname=node.name), 6,
                         "a worker-heartbeat through Celery's receiver")
        quiet = producer.send_task("caraway.add", args=[1, 1])
        assert polled_result(quiet, 10) == 2
        celery_cli.wait_nodes([node.name])

        result = celery_cli.remote("control", "enable_events", destination=[node.name])
        replies, _ = parse_celery_replies(result.stdout)
        assert result.returncode == 0 and replies[node.name]["status"] == "OK", result.stdout
        assert replies[node.name]["body"] == ["task events enabled"], result.stdout

        loud = producer.send_task("caraway.add", args=[2, 2])
        assert polled_result(loud, 10) == 4
        events = capture.wait_for(lambda ev: events_of(ev, "task-succeeded", uuid=loud.id) and ev, 10,
                                  "task-succeeded after enable_events")
        assert [e["type"] for e in events if e.get("uuid") == loud.id] == \
            ["task-received", "task-started", "task-succeeded"]
        assert not [e for e in events if e.get("uuid") == quiet.id], "task events before enable_events"
        succeeded = events_of(events, "task-succeeded", uuid=loud.id)[0]
        assert succeeded["hostname"] == node.name and succeeded["result"] == "4", succeeded
    finally:
        capture.stop()
