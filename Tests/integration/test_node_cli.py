"""The node's command line and logs: bad flags get clear errors, JSON logs are one object a line."""

from __future__ import annotations

import json
import subprocess

from carawaytest import free_port


def run(binary, *args, timeout=20):
    return subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=timeout)


def test_bad_node_flags_are_refused_with_a_clear_message(caraway_bin, redis_server):
    cases = [
        (["--concurrency", "0"], "--concurrency"),
        (["--redis", "http://nope"], "Redis URL"),
        (["--http", "nonsense"], "--http"),
        (["--log-format", "xml"], "--log-format"),
        (["--max-tasks-per-child", "0"], "--max-tasks-per-child"),
        (["--queues", ","], "queue"),
        (["--scripts-dir", "/definitely/not/here"], "--scripts-dir"),
        (["--busy-poll-us", "-1"], "--busy-poll-us"),
        (["--busy-poll-us", "1000000"], "--busy-poll-us"),
    ]
    for flags, needle in cases:
        out = run(caraway_bin, "node", "--redis", redis_server.url, *flags) if "--redis" not in flags else run(caraway_bin, "node", *flags)
        assert out.returncode != 0, f"{flags} was accepted"
        assert needle in out.stderr, f"{flags}: {out.stderr}"


def test_call_refuses_arguments_that_are_not_json(caraway_bin, redis_server):
    out = run(caraway_bin, "call", "caraway.add", "--args", "[1,", "--redis", redis_server.url)
    assert out.returncode != 0 and "--args" in out.stderr
    out = run(caraway_bin, "call", "caraway.add", "--args", '{"a": 1}', "--redis", redis_server.url)
    assert out.returncode != 0 and "JSON array" in out.stderr
    out = run(caraway_bin, "call", "caraway.add", "--countdown", "1", "--eta", "2030-01-01T00:00:00Z", "--redis", redis_server.url)
    assert out.returncode != 0


def test_call_wait_prints_the_result_and_fails_on_task_failure(caraway_bin, redis_server, start_node):
    start_node(redis_server.url, concurrency=1)
    ok = run(caraway_bin, "call", "caraway.add", "--args", "[20, 22]", "--wait", "--redis", redis_server.url)
    assert ok.returncode == 0 and ok.stdout.strip() == "42"
    bad = run(caraway_bin, "call", "caraway.fail", "--args", '["no luck"]', "--wait", "--redis", redis_server.url)
    assert bad.returncode != 0 and "no luck" in bad.stderr


def test_json_logs_are_one_object_per_line(caraway_bin, redis_server, start_node, celery_app):
    node = start_node(redis_server.url, concurrency=1, log_format="json")
    assert celery_app.send_task("caraway.add", args=[1, 2]).get(timeout=10) == 3
    lines = [line for line in node.log_text().splitlines() if line.startswith("{")]
    events = [json.loads(line) for line in lines]
    assert any(e["event"] == "task.succeeded" and "task.id" in e for e in events), lines[-5:]
    assert all({"time", "level", "event"} <= e.keys() for e in events)


def test_version_flag_prints_the_version(caraway_bin):
    result = subprocess.run([str(caraway_bin), "--version"], capture_output=True, text=True, timeout=10)
    assert result.returncode == 0 and result.stdout.strip().count(".") == 2, result
