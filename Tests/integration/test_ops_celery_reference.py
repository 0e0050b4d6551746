"""The reference for the operations tests: the same parsers and expectations the test_ops_* tests
apply to Caraway nodes, applied to a stock Python Celery 5.7 prefork worker.

If one of these fails, Celery (or Flower) changed what it prints or returns, and the Caraway-side
assertions built on opstest.py must be revisited, not the Caraway node.
"""

from __future__ import annotations

from carawaytest import polled_result, queue_length, wait_until
from opstest import (CeleryEventCapture, check_celery_stats, check_request_info, describe, events_of,
                     flower_event_workers, flower_tasks, flower_worker_names, http_get, metric_value,
                     parse_celery_replies, parse_metrics, parse_purge_output, pid_alive)
from opstest import celery_cli, producer, start_flower, start_reference_worker  # noqa: F401 (pytest fixtures)


def test_reference_celery_cli_against_a_python_worker(start_reference_worker, celery_cli, producer, redis_server):
    worker = start_reference_worker(concurrency=2)
    only = [worker.name]
    celery_cli.wait_nodes(only)

    # ping: --json is the flattened {node: payload}; the human form is "->  NODE: OK" + body + count.
    assert celery_cli.inspect_json("ping", destination=only) == {worker.name: {"ok": "pong"}}
    result = celery_cli.remote("inspect", "ping", destination=only)
    assert result.returncode == 0, describe(result)
    nodes, count = parse_celery_replies(result.stdout)
    assert nodes == {worker.name: {"status": "OK", "body": ["pong"], "items": []}} and count == 1, result.stdout

    registered = celery_cli.inspect_json("registered", destination=only)[worker.name]
    assert registered == sorted(registered) and {"caraway.add", "caraway.sleep"} <= set(registered), registered

    stats = celery_cli.inspect_json("stats", destination=only)[worker.name]
    check_celery_stats(stats, pid=worker.pid, concurrency=2, redis_port=redis_server.port)
    assert set(stats["pool"]["processes"]) == set(worker.children())

    result = celery_cli.run("status", "--destination", worker.name)
    nodes, count = parse_celery_replies(result.stdout)
    assert result.returncode == 0 and list(nodes) == [worker.name] and count == 1, result.stdout

    # Two running sleeps, one queued behind them.
    running = [producer.send_task("caraway.sleep", args=[30]) for _ in range(2)]
    def two_active():
        entries = celery_cli.inspect_json("active", destination=only)[worker.name]
        return len(entries) == 2 and entries
    active = wait_until(two_active, 15, "two active sleeps", interval=0.2)
    for entry in active:
        check_request_info(entry, hostname=worker.name, name="caraway.sleep", args=[30], started=True)
        assert entry["worker_pid"] in worker.children()
    assert {e["id"] for e in active} == {r.id for r in running}
    # The human form prints each request as a "* {python dict repr}" bullet.
    result = celery_cli.remote("inspect", "active", destination=only)
    nodes, _ = parse_celery_replies(result.stdout)
    assert {item["id"] for item in nodes[worker.name]["items"]} == {r.id for r in running}, result.stdout

    queued = producer.send_task("caraway.sleep", args=[30])
    for entry in celery_cli.inspect_json("reserved", destination=only)[worker.name]:
        check_request_info(entry, hostname=worker.name, name="caraway.sleep", args=[30], started=False)

    # `control revoke ID` (no terminate): a list of {node: {"ok": "tasks {'<id>'} flagged as revoked"}}.
    replies = celery_cli.control_json("revoke", queued.id, destination=only)
    assert replies == {worker.name: {"ok": f"tasks {{'{queued.id}'}} flagged as revoked"}}, replies
    wait_until(lambda: queued.state == "REVOKED", 10, "the queued task to be REVOKED")

    # Celery 5.7's CLI has no `control revoke --terminate`: terminating is `control terminate SIG ID...`.
    result = celery_cli.run("control", "revoke", running[0].id, "--terminate")
    assert result.returncode == 2 and "No such option" in result.stderr, describe(result)
    victim_pid = next(e["worker_pid"] for e in active if e["id"] == running[0].id)
    result = celery_cli.remote("control", "terminate", "SIGTERM", running[0].id, destination=only)
    assert result.returncode == 0, describe(result)
    nodes, count = parse_celery_replies(result.stdout)
    assert nodes == {worker.name: {"status": "OK", "body": [f"terminate: {running[0].id}"], "items": []}}, result.stdout
    assert count is None, "control prints no node count"
    wait_until(lambda: running[0].state == "REVOKED", 10, "the terminated task to be REVOKED")
    wait_until(lambda: not pid_alive(victim_pid), 10, "the child that ran it to die")

    # The Python API's revoke(terminate=True, signal=...) is method "revoke" with terminate/signal arguments.
    replies = producer.control.revoke(running[1].id, terminate=True, signal="SIGKILL", reply=True,
                                        destination=only, timeout=2)
    assert replies == [{worker.name: {"ok": f"terminate: {running[1].id}"}}], replies
    wait_until(lambda: running[1].state == "REVOKED", 10, "the SIGKILLed task to be REVOKED")
    revoked = celery_cli.inspect_json("revoked", destination=only)[worker.name]
    assert {queued.id, running[0].id, running[1].id} <= set(revoked), revoked

    # purge is client-side: kombu counts and deletes every priority sub-list of the queue.
    for priority in (0, 0, 0, 5, 9):
        producer.send_task("caraway.add", args=[1, 1], queue="parked", priority=priority)
    assert queue_length(redis_server.client, "parked") == 5
    result = celery_cli.run("purge", "-f", "-Q", "parked")
    assert result.returncode == 0 and parse_purge_output(result.stdout) == (5, 1), describe(result)
    assert queue_length(redis_server.client, "parked") == 0
    result = celery_cli.run("purge", "-f", "-Q", "parked")
    assert parse_purge_output(result.stdout) == (0, 1), describe(result)


def test_reference_cli_without_any_node_exits_69(celery_cli):
    for argv in (("inspect", "ping", "--timeout", "0.5"), ("status", "--timeout", "0.5")):
        result = celery_cli.run(*argv)
        assert result.returncode == 69, describe(result)
        assert "No nodes replied within time constraint" in result.stderr, describe(result)


def test_reference_flower_and_event_receiver_against_a_python_worker(start_reference_worker, start_flower, celery_cli,
                                                                     producer, redis_server):
    capture = CeleryEventCapture(producer).start(redis_server.client)
    try:
        worker = start_reference_worker(concurrency=1)  # without -E: task events only once enabled
        flower = start_flower()
        wait_until(lambda: worker.name in flower_worker_names(flower), 15, "Flower's /api/workers to list the worker")
        wait_until(lambda: flower_event_workers(flower).get(worker.name, {}).get("status") is True, 15,
                   "Flower's /workers?json=1 to show the worker online")

        before = producer.send_task("caraway.add", args=[1, 1])
        assert polled_result(before, 10) == 2
        result = celery_cli.remote("control", "enable_events", destination=[worker.name])
        nodes, _ = parse_celery_replies(result.stdout)
        assert nodes[worker.name]["status"] == "OK", result.stdout
        assert nodes[worker.name]["body"][0] in ("task events enabled", "task events already enabled"), result.stdout

        results = [producer.send_task("caraway.add", args=[i, 1]) for i in range(3)]
        assert [polled_result(r, 10) for r in results] == [1, 2, 3]
        ids = {r.id for r in results}

        def flower_has_them():
            tasks = flower_tasks(flower)
            return all(tasks.get(i, {}).get("state") == "SUCCESS" for i in ids) and tasks
        tasks = wait_until(flower_has_them, 15, "Flower's /api/tasks to show the tasks SUCCESS")
        for r, expected in zip(results, ("1", "2", "3")):
            assert tasks[r.id]["worker"] == worker.name and tasks[r.id]["name"] == "caraway.add", tasks[r.id]
            assert tasks[r.id]["result"] == expected, tasks[r.id]

        workers = flower.get_json("/api/workers")
        assert workers[worker.name]["stats"]["pid"] == worker.pid, workers[worker.name].get("stats")
        assert "caraway.add" in workers[worker.name]["registered"], workers[worker.name].get("registered")
        assert [q["name"] for q in workers[worker.name]["active_queues"]] == ["celery"]
        for r in results:
            assert tasks[r.id]["received"] and tasks[r.id]["started"] and tasks[r.id]["succeeded"], tasks[r.id]
        failed = producer.send_task("caraway.fail", args=["flower sees this"])
        wait_until(failed.ready, 10, "the failing task")
        wait_until(lambda: flower_tasks(flower).get(failed.id, {}).get("state") == "FAILURE", 10, "FAILURE in Flower")
        assert "flower sees this" in flower_tasks(flower)[failed.id]["exception"]

        # parse_metrics on real prometheus_client output (Flower's own /metrics).
        status, content_type, body = http_get(flower.port, "/metrics")
        assert status == 200 and content_type.startswith("text/plain"), content_type
        samples = parse_metrics(body.decode())
        assert metric_value(samples, "flower_events_total", type="task-succeeded", worker=worker.name) >= 3, samples

        last = results[-1].id
        events = capture.wait_for(lambda ev: events_of(ev, "task-succeeded", uuid=last) and ev, 10,
                                  "task-succeeded through Celery's receiver")
        for kind in ("task-received", "task-started", "task-succeeded"):
            assert events_of(events, kind, uuid=last), f"no {kind} for {last}"
        assert not [e for e in events if e.get("uuid") == before.id], "task events before enable_events"
        received = events_of(events, "task-received", uuid=last)[0]
        assert received["name"] == "caraway.add" and received["hostname"] == worker.name, received
        succeeded = events_of(events, "task-succeeded", uuid=last)[0]
        assert succeeded["result"] == "3" and isinstance(succeeded["runtime"], float), succeeded
        capture.wait_for(lambda ev: events_of(ev, "worker-heartbeat", hostname=worker.name), 10, "a worker-heartbeat")
    finally:
        capture.stop()
