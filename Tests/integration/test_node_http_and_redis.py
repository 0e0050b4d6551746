"""The node's HTTP endpoints stay truthful and fast, and the node rides out a Redis restart."""

from __future__ import annotations

import subprocess
import time

import redis

from carawaytest import wait_until


def restart_on_same_port(server):
    """Brings Redis back on the port the node knows (RedisServer.start picks a fresh port)."""
    server.process = subprocess.Popen(
        ["redis-server", "--port", str(server.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(server.directory), "--daemonize", "no", "--loglevel", "warning"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    server.client = redis.Redis(host="127.0.0.1", port=server.port, db=0, decode_responses=False, socket_timeout=5)
    wait_until(lambda: _pings(server.client), 10, "redis to come back")


def _pings(client) -> bool:
    try:
        return client.ping()
    except redis.exceptions.ConnectionError:
        return False


def test_health_answers_in_milliseconds_while_every_child_is_busy(redis_server, start_node, celery_app):
    node = start_node(redis_server.url, concurrency=2)
    busy = [celery_app.send_task("caraway.sleep", args=[1.5]) for _ in range(2)]
    wait_until(lambda: node.health().get("active") == 2, 10, "both children busy")
    worst = 0.0
    for _ in range(20):
        started = time.monotonic()
        status, _ = node.get("/health")
        worst = max(worst, time.monotonic() - started)
        assert status == 200
    assert worst < 0.1, f"/health took {worst * 1000:.0f} ms while children were busy"
    assert node.health()["loop_lag_ms"] < 50
    assert [r.get(timeout=10) for r in busy] == [1.5, 1.5]


def test_ready_turns_503_while_redis_is_down_and_back_to_200_after(redis_server, start_node, celery_app):
    node = start_node(redis_server.url, concurrency=1)
    redis_server.stop()
    wait_until(lambda: node.get("/ready")[0] == 503, 10, "/ready to report 503 without Redis")
    status, _ = node.get("/health")
    assert status == 200, "liveness does not depend on Redis"
    restart_on_same_port(redis_server)
    wait_until(lambda: node.get("/ready")[0] == 200, 15, "/ready to recover after Redis is back")
    assert celery_app.send_task("caraway.add", args=[2, 3]).get(timeout=15) == 5
    assert node.running()
