"""`caraway revoke` and POST /api/v1/tasks/{id}/revoke: a revoked queued task never runs (also
across a node restart: revocations live in Redis), and --terminate stops the child running a task,
which ends REVOKED, is not re-run, and the node keeps serving.
"""

from __future__ import annotations

import uuid

from carawaytest import api_call, inflight_total, polled_result, queue_length, run_caraway, wait_until
from opstest import caraway_inspect, describe, pid_alive
from opstest import producer  # noqa: F401 (pytest fixture)

TOKEN = "revoke-T0ken"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def revoke(binary, redis_url: str, *arguments: str) -> None:
    result = run_caraway(binary, "revoke", *arguments, "--redis", redis_url)
    assert result.returncode == 0, describe(result)


def running_child(node, task_id: str, timeout: float = 10.0) -> int:
    """The worker_pid the node's own GET /inspect/active gives for `task_id`, once it runs."""
    def find():
        status, body, raw = api_call(node.http_port, "GET", "/inspect/active", token=TOKEN)
        assert status == 200, raw
        return next((t["worker_pid"] for t in body[node.name] if t["id"] == task_id), None)
    pid = wait_until(find, timeout, f"{task_id} to run on {node.name}", interval=0.1)
    assert pid in node.children(), f"worker_pid {pid} is not a child of {node.name}"
    return pid


def test_revoked_queued_tasks_never_run(redis_server, start_node, producer, caraway_bin):
    client = redis_server.client
    doomed = [producer.send_task("caraway.add", args=[i, i]) for i in range(2)]
    revoke(caraway_bin, redis_server.url, doomed[0].id, doomed[1].id)  # before any node exists
    node = start_node(redis_server.url, concurrency=1, admin_token=TOKEN)
    # FIFO on one child: once a later task has run, the revoked ones were taken (and dropped) first.
    assert polled_result(producer.send_task("caraway.add", args=[5, 5]), 15) == 10
    wait_until(lambda: queue_length(client) == 0 and inflight_total(client) == 0, 5, "the node to be idle")
    assert [d.state for d in doomed] == ["REVOKED", "REVOKED"]

    # REST, while the only child is busy with something else.
    busy = producer.send_task("caraway.sleep", args=[1])
    wait_until(lambda: inflight_total(client) == 1, 10, "the sleep to be held")
    queued = producer.send_task("caraway.add", args=[1, 1])
    status, _, raw = api_call(node.http_port, "POST", f"/api/v1/tasks/{queued.id}/revoke", token=TOKEN)
    assert status == 200, raw
    after = producer.send_task("caraway.add", args=[2, 2])
    assert polled_result(busy, 15) == 1 and polled_result(after, 15) == 4
    assert queued.state == "REVOKED", queued.state

    def listed():
        _, report, _ = caraway_inspect(caraway_bin, redis_server.url, "revoked")
        return {queued.id, *(d.id for d in doomed)} <= set(report["nodes"][0]["reply"] or [])
    wait_until(listed, 5, "`caraway inspect revoked` to list the three ids")


def test_revocation_survives_a_node_restart(redis_server, start_node, producer, caraway_bin):
    client = redis_server.client
    name = unique("restart")
    node = start_node(redis_server.url, name=name, concurrency=1)
    busy = producer.send_task("caraway.sleep", args=[1.5])
    wait_until(lambda: inflight_total(client) == 1, 10, "the sleep to be held")
    # If it ever ran, this would sit in flight for 5 s.
    doomed = producer.send_task("caraway.sleep", args=[5])
    wait_until(lambda: queue_length(client) == 1, 5, "the doomed task to be queued")
    revoke(caraway_bin, redis_server.url, doomed.id)

    node.terminate()  # graceful: finishes the sleep, reserves nothing more
    assert node.wait(timeout=15) == 0
    assert polled_result(busy, 5) == 1.5
    assert queue_length(client) == 1, "the revoked task should still be queued while no node runs"

    restarted = start_node(redis_server.url, name=name, concurrency=1)  # and nothing new is sent
    wait_until(lambda: queue_length(client) == 0, 10, "the restarted node to take the queued task")
    wait_until(lambda: inflight_total(client) == 0, 2, "the revoked task to be dropped, not run")
    assert doomed.state == "REVOKED", doomed.state

    def listed():
        _, report, _ = caraway_inspect(caraway_bin, redis_server.url, "revoked", ok_codes=(0, 1))
        fresh = [n for n in report["nodes"] if n["status"] == "ok"]
        return (len(fresh) == 1 and fresh[0]["node_id"] == restarted.node_id() and doomed.id in fresh[0]["reply"]
                and report)
    wait_until(listed, 5, "the restarted node to list the revocation")


def test_terminate_a_running_task_via_cli_and_rest(redis_server, start_node, producer, caraway_bin):
    client = redis_server.client
    node = start_node(redis_server.url, concurrency=1, admin_token=TOKEN)

    first = producer.send_task("caraway.sleep", args=[30])
    child = running_child(node, first.id)
    revoke(caraway_bin, redis_server.url, first.id, "--terminate")
    wait_until(lambda: first.state == "REVOKED", 15, "the terminated task to be REVOKED")
    wait_until(lambda: not pid_alive(child), 15, f"child {child} to die")
    assert polled_result(producer.send_task("caraway.add", args=[2, 3]), 15) == 5, "the node stopped serving"
    assert child not in node.children()

    second = producer.send_task("caraway.sleep", args=[30])
    child = running_child(node, second.id)
    status, _, raw = api_call(node.http_port, "POST", f"/api/v1/tasks/{second.id}/revoke",
                              {"terminate": True, "signal": "SIGKILL"}, token=TOKEN)
    assert status == 200, raw
    wait_until(lambda: second.state == "REVOKED", 15, "the SIGKILLed task to be REVOKED")
    wait_until(lambda: not pid_alive(child), 5, f"child {child} to die")
    assert polled_result(producer.send_task("caraway.add", args=[3, 4]), 15) == 7, "the node stopped serving"

    # Neither was requeued nor re-run.
    wait_until(lambda: queue_length(client) == 0 and inflight_total(client) == 0, 5, "the node to be idle")
    assert first.state == "REVOKED" and second.state == "REVOKED"
    assert node.running()
