"""`caraway purge` and POST /api/v1/queues/{name}/purge: exact counts while producers keep
enqueueing, messages held by live nodes never touched, delayed (ETA/countdown) messages only on
request and only for the named queue, --dry-run and the --force guard.
"""

from __future__ import annotations

import threading
import time

from carawaytest import (DELAYED_KEY, api_call, delayed_count, inflight_total, make_celery_app, polled_result,
                         queue_length, run_caraway, wait_until)
from opstest import caraway_json, describe
from opstest import producer  # noqa: F401 (pytest fixture)

TOKEN = "purge-T0ken"


def project(entry: dict, keys) -> dict:
    """`entry` reduced to the documented `keys` (extra, informative keys are allowed)."""
    missing = set(keys) - set(entry)
    assert not missing, f"{entry} lacks {sorted(missing)}"
    return {key: entry[key] for key in keys}


def purge(binary, redis_url: str, *arguments: str) -> dict:
    """`caraway purge ARGUMENTS --redis URL --json` → {"queues": [{queue, waiting, delayed}],
    "total": {waiting, delayed}, "dry_run"}, its shape and total checked."""
    _, report, _ = caraway_json(binary, "purge", *arguments, "--redis", redis_url, "--json")
    assert isinstance(report.get("queues"), list) and isinstance(report.get("dry_run"), bool), report
    queues = [project(q, ("queue", "waiting", "delayed")) for q in report["queues"]]
    total = project(report["total"], ("waiting", "delayed"))
    assert total == {"waiting": sum(q["waiting"] for q in queues), "delayed": sum(q["delayed"] for q in queues)}, report
    return {"queues": queues, "total": total, "dry_run": report["dry_run"]}


def rest_purge(node, queue: str, body=None) -> dict:
    """POST /api/v1/queues/{queue}/purge with the admin token → {queue, waiting, delayed, dry_run}."""
    status, answer, raw = api_call(node.http_port, "POST", f"/api/v1/queues/{queue}/purge", body, token=TOKEN)
    assert status == 200, raw
    return project(answer, ("queue", "waiting", "delayed", "dry_run"))


def rest_queues(node) -> dict[str, dict]:
    """GET /api/v1/queues → {name: {name, waiting, delayed, in_flight}}."""
    status, listing, raw = api_call(node.http_port, "GET", "/api/v1/queues", token=TOKEN)
    assert status == 200, raw
    return {q["name"]: project(q, ("name", "waiting", "delayed", "in_flight")) for q in listing["queues"]}


def count_results(client) -> int:
    return sum(1 for _ in client.scan_iter(match=b"celery-task-meta-*", count=1000))


def test_purge_counts_are_exact_while_producers_enqueue(redis_server, start_node, caraway_bin):
    # One node consumes the queue slowly, so messages are waiting, in flight and executed at once.
    start_node(redis_server.url, concurrency=2, queues="bulk")
    client = redis_server.client
    stop = threading.Event()
    sent = [0, 0]
    errors = []

    def produce(slot: int) -> None:
        app = make_celery_app(redis_server.url)
        try:
            i = 0
            while not stop.is_set():
                app.send_task("caraway.sleep", args=[0.02], queue="bulk", priority=(0, 5, 9)[i % 3])
                sent[slot] += 1
                i += 1
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            app.close()

    producers = [threading.Thread(target=produce, args=(slot,)) for slot in range(2)]
    for thread in producers:
        thread.start()
    purged = 0
    try:
        wait_until(lambda: queue_length(client, "bulk") >= 200, 10, "a backlog")
        for _ in range(5):
            report = purge(caraway_bin, redis_server.url, "-Q", "bulk", "--force")
            assert [q["queue"] for q in report["queues"]] == ["bulk"] and report["dry_run"] is False, report
            assert report["queues"][0]["delayed"] == 0, report
            purged += report["queues"][0]["waiting"]
            time.sleep(0.1)  # let the producers refill between purges
    finally:
        stop.set()
        for thread in producers:
            thread.join(10)
    assert not errors, errors
    report = purge(caraway_bin, redis_server.url, "-Q", "bulk", "--force")
    purged += report["queues"][0]["waiting"]
    assert queue_length(client, "bulk") == 0
    wait_until(lambda: inflight_total(client) == 0, 10, "the node to finish what it held")
    executed = count_results(client)
    assert purged > 0 and executed > 0, (purged, executed)
    assert sum(sent) == purged + executed, f"sent {sum(sent)} != purged {purged} + executed {executed}"


def test_purge_leaves_the_messages_of_live_nodes_alone(redis_server, start_node, producer, caraway_bin):
    node = start_node(redis_server.url, concurrency=1)
    client = redis_server.client
    running = producer.send_task("caraway.sleep", args=[1.5])
    wait_until(lambda: inflight_total(client) == 1, 10, "the sleep to be held")
    waiting = [producer.send_task("caraway.add", args=[i, i]) for i in range(3)]
    wait_until(lambda: queue_length(client) == 3, 5, "three queued")

    report = purge(caraway_bin, redis_server.url, "-Q", "celery", "--force")
    assert report["queues"] == [{"queue": "celery", "waiting": 3, "delayed": 0}], report
    assert inflight_total(client) == 1, "purge touched a message a node holds"
    assert polled_result(running, 15) == 1.5 and running.state == "SUCCESS"
    wait_until(lambda: inflight_total(client) == 0, 5, "the node to settle")
    assert queue_length(client) == 0 and all(w.state == "PENDING" for w in waiting), "a purged task ran"
    assert polled_result(producer.send_task("caraway.add", args=[1, 1]), 10) == 2
    assert node.running()


def test_purge_delayed_only_when_asked_and_only_for_the_queue(redis_server, start_node, producer, caraway_bin):
    node = start_node(redis_server.url, concurrency=1, queues="celery,other", admin_token=TOKEN)
    client = redis_server.client
    mine = producer.send_task("caraway.add", args=[1, 2], countdown=60)
    theirs = producer.send_task("caraway.add", args=[3, 4], countdown=60, queue="other")
    wait_until(lambda: delayed_count(client) == 2, 10, "both countdown tasks in the delayed set")

    listing = rest_queues(node)
    assert listing["celery"] == {"name": "celery", "waiting": 0, "delayed": 1, "in_flight": 0}, listing
    assert listing["other"] == {"name": "other", "waiting": 0, "delayed": 1, "in_flight": 0}, listing

    report = purge(caraway_bin, redis_server.url, "-Q", "celery", "--force")
    assert report["queues"] == [{"queue": "celery", "waiting": 0, "delayed": 0}], report
    assert delayed_count(client) == 2, "purge without --delayed removed delayed messages"

    report = purge(caraway_bin, redis_server.url, "-Q", "celery", "--delayed", "--dry-run")
    assert report["dry_run"] is True and report["queues"] == [{"queue": "celery", "waiting": 0, "delayed": 1}], report
    assert delayed_count(client) == 2, "--dry-run removed something"

    report = purge(caraway_bin, redis_server.url, "-Q", "celery", "--delayed", "--force")
    assert report["queues"] == [{"queue": "celery", "waiting": 0, "delayed": 1}], report
    assert delayed_count(client) == 1
    (left,) = client.hvals(DELAYED_KEY + b":messages")
    assert theirs.id.encode() in left and mine.id.encode() not in left, left[:300]

    # REST: the same for the other queue, dry run first.
    body = rest_purge(node, "other", {"delayed": True, "dry_run": True})
    assert body == {"queue": "other", "waiting": 0, "delayed": 1, "dry_run": True}, body
    assert delayed_count(client) == 1
    body = rest_purge(node, "other", {"delayed": True})
    assert body == {"queue": "other", "waiting": 0, "delayed": 1, "dry_run": False}, body
    assert delayed_count(client) == 0


def test_purge_needs_force_and_dry_run_changes_nothing(redis_server, caraway_bin, producer, start_node):
    client = redis_server.client
    for priority in (0, 0, 3, 6, 9):  # every kombu priority sub-list of the queue
        producer.send_task("caraway.add", args=[1, 1], queue="parked", priority=priority)
    assert queue_length(client, "parked") == 5

    result = run_caraway(caraway_bin, "purge", "-Q", "parked", "--redis", redis_server.url)
    # A usage error (ArgumentParser's exit 64) naming the missing flag.
    assert result.returncode == 64 and "--force" in result.stderr, describe(result)
    assert queue_length(client, "parked") == 5, "purge without --force removed messages"

    report = purge(caraway_bin, redis_server.url, "-Q", "parked", "--dry-run")
    assert report == {"queues": [{"queue": "parked", "waiting": 5, "delayed": 0}],
                      "total": {"waiting": 5, "delayed": 0}, "dry_run": True}, report
    assert queue_length(client, "parked") == 5

    # REST (no node consumes "parked"): dry run, then the real thing.
    node = start_node(redis_server.url, concurrency=1, admin_token=TOKEN)
    body = rest_purge(node, "parked", {"dry_run": True})
    assert body == {"queue": "parked", "waiting": 5, "delayed": 0, "dry_run": True}, body
    assert queue_length(client, "parked") == 5
    body = rest_purge(node, "parked")  # no body: not a dry run, waiting messages only
    assert body == {"queue": "parked", "waiting": 5, "delayed": 0, "dry_run": False}, body
    assert queue_length(client, "parked") == 0

    report = purge(caraway_bin, redis_server.url, "-Q", "parked", "--force")
    assert report["total"] == {"waiting": 0, "delayed": 0}, report
