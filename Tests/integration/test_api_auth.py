"""REST API authentication (design §4: admin routes need a bearer token; the default bind is
loopback): mutating routes answer 401 without the node's --admin-token, and a node refuses to
listen on a non-loopback address without one.
"""

from __future__ import annotations

import os
import signal
import subprocess

from carawaytest import api_call, clean_environment, die_with_parent, free_port, run_caraway, wait_until

TOKEN = "s3cret-T0ken"
BODY = {"name": "guarded", "task": "caraway.add", "args": [1, 2], "schedule": {"kind": "interval", "every": 60}}


def test_mutating_routes_need_the_admin_token(redis_server, postgres_server, start_node):
    node = start_node(redis_server.url, database=postgres_server, admin_token=TOKEN)
    count = lambda: postgres_server.scalar("SELECT count(*) FROM caraway_schedules")  # noqa: E731

    status, body, raw = api_call(node.http_port, "POST", "/api/v1/schedules", BODY)
    assert status == 401, f"no token: {status} {raw[:200]!r}"
    assert body and body.get("error"), raw
    for wrong in ("wrong", TOKEN + "x", TOKEN[:-1], ""):
        status, _, raw = api_call(node.http_port, "POST", "/api/v1/schedules", BODY, token=wrong)
        assert status == 401, f"token {wrong!r}: {status} {raw[:200]!r}"
    status, _, raw = api_call(node.http_port, "POST", "/api/v1/schedules", BODY, headers={"Authorization": TOKEN})
    assert status == 401, f"token without 'Bearer': {status}"
    assert count() == 0, "a request without the right token wrote a row"

    status, created, raw = api_call(node.http_port, "POST", "/api/v1/schedules", BODY, token=TOKEN)
    assert status == 201, raw
    assert count() == 1
    sid = created["id"]

    # Every other mutating route is guarded too, and changes nothing without the token.
    for method, path, body in (("PATCH", f"/api/v1/schedules/{sid}", {"description": "x"}),
                               ("PUT", f"/api/v1/schedules/{sid}", BODY),
                               ("DELETE", f"/api/v1/schedules/{sid}", None),
                               ("POST", f"/api/v1/schedules/{sid}/disable", None),
                               ("POST", f"/api/v1/schedules/{sid}/run", None),
                               ("POST", "/api/v1/tasks", {"task": "caraway.noop"})):
        status, _, raw = api_call(node.http_port, method, path, body)
        assert status == 401, f"{method} {path} without a token answered {status}: {raw[:200]!r}"
    row = postgres_server.sql("SELECT enabled, description FROM caraway_schedules WHERE id = %s", (sid,))[0]
    assert row == {"enabled": True, "description": ""}
    assert redis_server.client.llen(b"celery") == 0, "an unauthenticated request enqueued a task"
    # Reads stay open on the loopback listener.
    status, listing, raw = api_call(node.http_port, "GET", "/api/v1/schedules")
    assert status == 200 and [s["name"] for s in listing["schedules"]] == ["guarded"], raw
    status, _, _ = api_call(node.http_port, "PATCH", f"/api/v1/schedules/{sid}", {"description": "x"}, token=TOKEN)
    assert status == 200
    assert postgres_server.scalar("SELECT description FROM caraway_schedules WHERE id = %s", (sid,)) == "x"


def test_non_loopback_listener_without_a_token_refuses_to_start(redis_server, postgres_server, caraway_bin, tmp_path):
    port = free_port()
    try:
        result = run_caraway(caraway_bin, "node", "--redis", redis_server.url, "--database", postgres_server.url,
                             "--name", "exposed", "--concurrency", "1", "--http", f"0.0.0.0:{port}", timeout=15)
    except subprocess.TimeoutExpired:
        raise AssertionError("the node started (and ran) on 0.0.0.0 without an admin token") from None
    assert result.returncode != 0, f"exit {result.returncode}; stdout {result.stdout!r}"
    message = result.stderr + result.stdout
    assert "--admin-token" in message and "0.0.0.0" in message, f"unclear refusal: {message!r}"
    # It never got as far as registering in Redis.
    assert not redis_server.client.exists(b"caraway:nodes")
    # The environment variable counts as a token, so the same listener is then allowed (it starts).
    process = subprocess.Popen([str(caraway_bin), "node", "--redis", redis_server.url, "--name", "exposed-ok",
                                "--concurrency", "1", "--http", f"0.0.0.0:{port}"],
                               env=clean_environment({"CARAWAY_ADMIN_TOKEN": TOKEN}), cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                               start_new_session=True, preexec_fn=die_with_parent)
    try:
        wait_until(lambda: redis_server.client.exists(b"caraway:nodes") or process.poll() is not None, 10,
                   "the node with a token to start")
        assert process.poll() is None, f"the node with CARAWAY_ADMIN_TOKEN exited with {process.returncode}"
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
