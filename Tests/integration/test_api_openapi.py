"""Fuzzes the REST API of a running node from its own OpenAPI document with schemathesis
(design §2 I5: a malformed HTTP request gets a 4xx, never a server error).

Postgres and Redis are up during the run, so any 5xx is a failure. Path ids and task names are
drawn partly from real values (existing schedules, registered tasks), so the fuzzer reaches the
handlers' logic instead of stopping at 404 / unknown-task 400s.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from carawaytest import api_call, wait_until

MAX_TIME = 40  # seconds schemathesis may spend (its own budget; the test allows for start-up)


@pytest.mark.timeout(MAX_TIME + 60)
def test_openapi_fuzzing_finds_no_server_error(redis_server, postgres_server, start_node, tmp_path):
    node = start_node(redis_server.url, database=postgres_server, beat_lock_ttl=3, concurrency=2)
    status, body, raw = api_call(node.http_port, "GET", "/api/v1/openapi.yaml")
    assert status == 200 and raw.startswith(b"openapi:"), raw[:200]
    status, registered, _ = api_call(node.http_port, "GET", "/api/v1/tasks/registered")
    assert status == 200
    tasks = [t for t in registered["tasks"] if t != "caraway.script"]
    for i, task in enumerate(("caraway.add", "caraway.noop", "caraway.mul")):
        status, _, raw = api_call(node.http_port, "POST", "/api/v1/schedules",
                                  {"name": f"seed-{i}", "task": task, "args": [1, 2] if task != "caraway.noop" else [],
                                   "schedule": {"kind": "interval", "every": 3600}})
        assert status == 201, raw
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "[dictionaries.ids]\nvalues = [1, 2, 3]\n"
        f"[dictionaries.tasks]\nvalues = {json.dumps(tasks)}\n"
        "[parameters]\n"
        '"path.id" = { dictionary = "ids", probability = 0.6 }\n'
        '"body.task" = { dictionary = "tasks", probability = 0.7 }\n')
    report = tmp_path / "schemathesis.ndjson"
    argv = [str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config), "run",
            f"http://127.0.0.1:{node.http_port}/api/v1/openapi.yaml",
            "--checks", "not_a_server_error", "--max-examples", "25", "--max-time", str(MAX_TIME),
            "--workers", "1", "--request-timeout", "10", "--no-color",
            "--report", "ndjson", "--report-ndjson-path", str(report)]
    result = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=MAX_TIME + 45,
                            stdin=subprocess.DEVNULL)
    output = result.stdout + result.stderr
    assert "Test cases:" in output, f"schemathesis did not run (exit {result.returncode}):\n{output[-5000:]}"
    assert result.returncode == 0, f"schemathesis found failures (exit {result.returncode}):\n{output[-20000:]}"
    assert "Server error" not in output, output[-20000:]
    # The node survived the run and still serves.
    assert node.running()
    wait_until(lambda: node.health()["status"] == "ok", 5, "the node's /health after fuzzing")
