"""The operations HTTP surface of a node: the admin token on /inspect/*, /api/v1/cluster/* and every
mutating route (/health, /ready and /metrics stay open), the refusal to bind beyond loopback without
a token, hostile clients (an oversized header, a client that never finishes its request), and
/metrics as valid Prometheus text.
"""

from __future__ import annotations

import socket
import subprocess
import time
import uuid

from carawaytest import api_call, free_port, polled_result, run_caraway, wait_until
from opstest import http_get, metric_value, parse_metrics, raw_request
from opstest import producer  # noqa: F401 (pytest fixture)

TOKEN = "ops-T0ken"

GUARDED = (
    ("GET", "/inspect/ping", None),
    ("GET", "/inspect/active", None),
    ("GET", "/inspect/stats", None),
    ("GET", "/api/v1/cluster/inspect/ping", None),
    ("POST", "/api/v1/queues/celery/purge", {"dry_run": True}),
    ("POST", f"/api/v1/tasks/{uuid.uuid4()}/revoke", None),
)


def test_admin_routes_need_the_token_and_probes_stay_open(redis_server, start_node):
    node = start_node(redis_server.url, concurrency=1, admin_token=TOKEN)
    for method, path, body in GUARDED:
        status, _, raw = api_call(node.http_port, method, path, body)
        assert status == 401, f"{method} {path} without a token: {status} {raw[:200]!r}"
        for wrong in ("wrong", TOKEN + "x", TOKEN[:-1]):
            status, _, raw = api_call(node.http_port, method, path, body, token=wrong)
            assert status == 401, f"{method} {path} with token {wrong!r}: {status} {raw[:200]!r}"
        status, _, raw = api_call(node.http_port, method, path, body, headers={"Authorization": TOKEN})
        assert status == 401, f"{method} {path} with a token but no 'Bearer': {status}"
        status, _, raw = api_call(node.http_port, method, path, body, token=TOKEN)
        assert status == 200, f"{method} {path} with the token: {status} {raw[:300]!r}"
    for path in ("/health", "/ready", "/metrics"):
        status, _, raw = http_get(node.http_port, path)
        assert status == 200, f"{path} without a token: {status} {raw[:200]!r}"


def test_without_a_token_a_node_refuses_a_non_loopback_listener(redis_server, caraway_bin):
    port = free_port()
    try:
        result = run_caraway(caraway_bin, "node", "--redis", redis_server.url, "--name", "exposed",
                             "--concurrency", "1",
                             "--http", f"0.0.0.0:{port}", timeout=15)
    except subprocess.TimeoutExpired:
        raise AssertionError("the node ran on 0.0.0.0 without an admin token") from None
    assert result.returncode != 0, f"exit {result.returncode}; stdout {result.stdout!r}"
    assert "--admin-token" in result.stderr + result.stdout, f"unclear refusal: {result.stderr!r} {result.stdout!r}"
    assert not redis_server.client.exists(b"caraway:nodes"), "it registered before refusing"


def test_an_oversized_header_is_refused_and_the_node_keeps_serving(redis_server, start_node):
    node = start_node(redis_server.url, concurrency=1)
    request = (b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 65536 + b"\r\n\r\n")
    status, body = raw_request(node.http_port, request, timeout=5)
    assert status in (400, 431), f"64 KiB header answered {status}: {body[:200]!r}"
    status, _, _ = http_get(node.http_port, "/health")
    assert status == 200


def test_a_slow_client_is_cut_off_after_the_request_timeout(redis_server, start_node):
    node = start_node(redis_server.url, concurrency=1, http_request_timeout=2)
    with socket.create_connection(("127.0.0.1", node.http_port), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
        started = time.monotonic()
        # Meanwhile the node serves everyone else.
        status, _, _ = http_get(node.http_port, "/health")
        assert status == 200
        received = b""
        while True:
            try:
                chunk = sock.recv(4096)
            except ConnectionResetError:
                break
            except socket.timeout:
                raise AssertionError("the half-sent request was still open after 10 s") from None
            if not chunk:
                break
            received += chunk
        elapsed = time.monotonic() - started
    assert 1.5 <= elapsed <= 3.5, f"cut off after {elapsed:.2f}s with --http-request-timeout 2"
    assert received == b"" or received.startswith(b"HTTP/1.1 408 "), received[:200]


def test_metrics_are_prometheus_text(redis_server, start_node, producer):
    node = start_node(redis_server.url, concurrency=2, max_tasks_per_child=1)
    assert [polled_result(producer.send_task("caraway.add", args=[i, i]), 10) for i in range(3)] == [0, 2, 4]
    failed = producer.send_task("caraway.fail", args=["for the metrics"])
    wait_until(failed.ready, 10, "the failing task")
    for _ in range(2):
        producer.send_task("caraway.noop", queue="celery", countdown=60)

    def scrape():
        status, content_type, body = http_get(node.http_port, "/metrics")
        assert status == 200, body[:300]
        assert content_type.startswith("text/plain") and "version=0.0.4" in content_type, content_type
        return parse_metrics(body.decode())

    def settled():
        samples = scrape()
        succeeded = sum(v for labels, v in samples.get("caraway_tasks_total", [])
                        if labels.get("task") == "caraway.add" and labels.get("state", "").upper() == "SUCCESS")
        restarts = sum(v for _, v in samples.get("caraway_child_restarts_total", []))
        # --max-tasks-per-child 1: each of the four tasks that ran retired its child.
        return (succeeded == 3 and (metric_value(samples, "caraway_delayed_messages") or 0) == 2 and restarts >= 4
                and samples)
    samples = wait_until(settled, 10, "/metrics to count three successes, two delayed messages and four child "
                         "restarts", interval=0.2)

    for name in ("caraway_tasks_total", "caraway_task_runtime_seconds_bucket", "caraway_task_runtime_seconds_sum",
                 "caraway_task_runtime_seconds_count", "caraway_queue_depth", "caraway_inflight_messages",
                 "caraway_delayed_messages", "caraway_reserved_messages", "caraway_child_restarts_total",
                 "caraway_beat_leader", "caraway_beat_epoch", "caraway_redis_reconnects_total",
                 "caraway_loop_lag_seconds"):
        assert name in samples, f"/metrics lacks {name}; has {sorted(samples)}"
    failures = sum(v for labels, v in samples["caraway_tasks_total"]
                   if labels.get("task") == "caraway.fail" and labels.get("state", "").upper() == "FAILURE")
    assert failures == 1, samples["caraway_tasks_total"]
    assert metric_value(samples, "caraway_queue_depth", queue="celery") == 0, samples["caraway_queue_depth"]
    assert metric_value(samples, "caraway_inflight_messages") == 0
    assert metric_value(samples, "caraway_redis_reconnects_total") == 0
    assert metric_value(samples, "caraway_loop_lag_seconds") >= 0

    # The runtime histogram: cumulative buckets ending in +Inf == _count, per label set.
    buckets: dict[tuple, list[tuple[float, float]]] = {}
    for labels, value in samples["caraway_task_runtime_seconds_bucket"]:
        key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        buckets.setdefault(key, []).append((float(labels["le"]), value))
    counts = {tuple(sorted(labels.items())): v for labels, v in samples["caraway_task_runtime_seconds_count"]}
    assert sum(counts.values()) >= 3, counts
    for key, series in buckets.items():
        series.sort()
        values = [v for _, v in series]
        assert values == sorted(values), f"buckets not cumulative for {key}: {series}"
        assert series[-1][0] == float("inf") and series[-1][1] == counts[key], (key, series, counts.get(key))
