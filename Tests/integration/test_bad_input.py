"""Invariant I5: bad input never hurts others.

Malformed messages, unknown tasks, wrong arguments, oversized messages and malformed HTTP each
get a clear error (a FAILURE result, a `caraway:dead` entry, an HTTP 400), nothing stays stuck in
flight, and the node goes straight on serving normal work.
"""

from __future__ import annotations

import json
import re
import socket
import uuid

import pytest

from carawaytest import dead_letters, inflight_total, queue_length, wait_until


def assert_still_serving(node, celery_app, redis_server):
    """The node runs a normal task right after the bad one and holds nothing in flight."""
    assert celery_app.send_task("caraway.add", args=[2, 3]).get(timeout=10) == 5
    wait_until(lambda: inflight_total(redis_server.client) == 0, 5, "in-flight records to be cleared")
    assert node.running()


def entries_mentioning(client, text: str) -> list[dict]:
    return [entry for entry in dead_letters(client) if text in json.dumps(entry, ensure_ascii=False)]


@pytest.fixture
def node(redis_server, start_node):
    return start_node(redis_server.url, concurrency=2)


def test_non_json_messages_are_dead_lettered_and_the_node_goes_on(node, redis_server, celery_app):
    client = redis_server.client
    garbage = [
        b"this is not json {",                     # text, not JSON
        b"\xff\xfe\x00binary \x80\x81 garbage",       # not even UTF-8
        b'{"valid": "json", "but": "no envelope"}',  # JSON without body/headers/properties
        b"[1, 2, 3]",                               # JSON, wrong shape
    ]
    for raw in garbage:
        client.lpush(b"celery", raw)

    entries = wait_until(lambda: len(dead_letters(client)) >= len(garbage) and dead_letters(client), 10,
                         f"{len(garbage)} dead-letter entries")
    assert len(entries) == len(garbage)
    for entry in entries:
        assert isinstance(entry.get("reason"), str) and entry["reason"].strip(), f"no reason in {entry}"
        assert "raw" in entry, f"no raw message in {entry}"
    assert any("this is not json" in str(entry["raw"]) for entry in entries), entries
    assert queue_length(client, "celery") == 0
    assert_still_serving(node, celery_app, redis_server)


def test_unknown_task_fails_not_registered_and_is_dead_lettered(node, redis_server, celery_app):
    name = f"caraway.no_such_task_{uuid.uuid4().hex[:6]}"
    result = celery_app.send_task(name, args=[1])
    with pytest.raises(Exception) as raised:
        result.get(timeout=10)
    assert result.state == "FAILURE"
    assert type(raised.value).__name__ == "NotRegistered", f"{type(raised.value)}: {raised.value}"
    stored = json.loads(redis_server.client.get(f"celery-task-meta-{result.id}".encode()))
    assert stored["result"]["exc_type"] == "NotRegistered"

    entries = wait_until(lambda: entries_mentioning(redis_server.client, result.id), 5,
                         f"a dead-letter entry for task {result.id}")
    assert len(entries) == 1
    assert entries[0]["reason"].strip()
    assert_still_serving(node, celery_app, redis_server)


@pytest.mark.parametrize("args", [["a", {}], [1], [1, 2, 3], [None, None]], ids=["string-and-dict", "too-few",
                                                                                 "too-many", "nulls"])
def test_wrong_arguments_fail_with_a_clear_message(node, redis_server, celery_app, args):
    result = celery_app.send_task("caraway.add", args=args)
    with pytest.raises(Exception) as raised:
        result.get(timeout=10)
    assert result.state == "FAILURE"
    assert type(raised.value).__name__ != "NotRegistered"
    message = str(raised.value)
    assert message.strip(), "empty failure message"
    # "Clear" = it says what was wrong with the call, not just that something crashed.
    assert any(word in message.lower() for word in ("argument", "arg", "number", "type", "expected")), message
    assert_still_serving(node, celery_app, redis_server)


def test_oversized_message_is_dead_lettered(redis_server, start_node, celery_app):
    node = start_node(redis_server.url, concurrency=2, max_message_bytes=4096)
    result = celery_app.send_task("caraway.echo", args=["x" * 10_000])
    entries = wait_until(lambda: dead_letters(redis_server.client), 10, "a dead-letter entry for the big message")
    assert len(entries) == 1
    assert entries[0]["reason"].strip()
    assert queue_length(redis_server.client, "celery") == 0
    assert result.state != "SUCCESS"
    # Messages under the limit still run.
    assert celery_app.send_task("caraway.echo", args=["small"]).get(timeout=10) == {"args": ["small"], "kwargs": {}}
    assert_still_serving(node, celery_app, redis_server)


def raw_http_exchange(port: int, payload: bytes, timeout: float = 5.0) -> bytes:
    """Sends raw bytes and reads until the server closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                sock.settimeout(0.5)  # the answer has begun: a server keeping the socket open is fine
        except socket.timeout:
            pass
        return b"".join(chunks)


@pytest.mark.parametrize("payload", [
    b"GARBAGE\r\n\r\n",
    b"\x00\x01\x02\x03 not http at all\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: not-a-number\r\n\r\n",
    b"GET /health HTTP/9.9.9\r\n\r\n",
], ids=["garbage-method", "binary", "bad-content-length", "bad-version"])
def test_malformed_http_gets_400_and_the_node_keeps_serving(node, payload):
    answer = raw_http_exchange(node.http_port, payload)
    status_line = answer.split(b"\r\n", 1)[0]
    assert re.fullmatch(rb"HTTP/1\.[01] 400( .*)?", status_line), f"answer to {payload!r}: {answer[:200]!r}"
    health = node.health()
    assert health["status"] == "ok"
    assert isinstance(health["loop_lag_ms"], (int, float))
