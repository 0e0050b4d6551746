"""Invariant I1 under kill -9: a task whose child or node dies mid-run still completes; nothing is
lost; duplicates happen only for the killed executions."""

from __future__ import annotations

import os
import signal
import stat
import time
from pathlib import Path

import pytest

from carawaytest import inflight_total, registered_nodes, wait_until


@pytest.fixture
def scripts(tmp_path) -> Path:
    """A scripts dir with `record`: appends its execution id to a log, sleeps, prints the id."""
    directory = tmp_path / "scripts"
    directory.mkdir()
    log = tmp_path / "executions.log"
    script = directory / "record"
    script.write_text(f"""#!/bin/sh
echo "$EXECUTION_ID" >> {log}
sleep "$(echo "$SCRIPT_PARAMETERS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')"
echo "\\"$EXECUTION_ID\\""
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return directory


def executions(scripts: Path) -> list[str]:
    log = scripts.parent / "executions.log"
    return log.read_text().split() if log.exists() else []


def running_child(node) -> int:
    """The pid of the child that is running a task (it has the script as its own child)."""
    def find():
        for pid in node.children():
            if any(True for _ in Path(f"/proc/{pid}/task").glob("*/children") if Path(_).read_text().strip()):
                return pid
        return None
    return wait_until(find, 10, "a child running the task")


def test_killing_a_child_mid_task_reruns_the_task_on_a_fresh_child(redis_server, start_node, celery_app, scripts):
    node = start_node(redis_server.url, concurrency=1, scripts_dir=str(scripts))
    result = celery_app.send_task("caraway.script", args=["record", {"seconds": 1.5}])
    wait_until(lambda: len(executions(scripts)) == 1, 10, "the first execution to start")
    victim = running_child(node)
    os.kill(victim, signal.SIGKILL)
    assert result.get(timeout=20) == result.id
    runs = executions(scripts)
    assert runs == [result.id, result.id], f"one killed run plus one complete run expected, got {runs}"
    assert victim not in node.children(), "the killed child must have been replaced"
    assert celery_app.send_task("caraway.add", args=[20, 22]).get(timeout=10) == 42
    wait_until(lambda: inflight_total(redis_server.client) == 0, 5, "in-flight to empty")


def test_a_task_that_opts_out_of_redelivery_fails_with_worker_lost(redis_server, start_node, celery_app):
    node = start_node(redis_server.url, concurrency=1)
    result = celery_app.send_task("caraway.sleep", args=[5], headers={"reject_on_worker_lost": False})
    wait_until(lambda: node.health().get("active") == 1, 10, "the task to start")
    for pid in node.children():
        os.kill(pid, signal.SIGKILL)
    with pytest.raises(Exception) as failure:
        result.get(timeout=20)
    assert "WorkerLostError" in type(failure.value).__name__ or "Worker exited prematurely" in str(failure.value)
    assert celery_app.send_task("caraway.add", args=[1, 2]).get(timeout=10) == 3


def test_a_plain_task_killed_with_all_children_still_completes(redis_server, start_node, celery_app):
    node = start_node(redis_server.url, concurrency=1)
    result = celery_app.send_task("caraway.sleep", args=[1.5])
    wait_until(lambda: node.health().get("active") == 1, 10, "the task to start")
    for pid in node.children():
        os.kill(pid, signal.SIGKILL)
    assert result.get(timeout=20) == 1.5


def test_killing_a_whole_node_mid_task_lets_a_survivor_finish_it(redis_server, start_node, celery_app, scripts):
    lease = 2
    doomed = start_node(redis_server.url, concurrency=1, scripts_dir=str(scripts), lease_seconds=lease)
    result = celery_app.send_task("caraway.script", args=["record", {"seconds": 2}])
    wait_until(lambda: len(executions(scripts)) == 1, 10, "the task to start on the first node")
    survivor = start_node(redis_server.url, concurrency=1, scripts_dir=str(scripts), lease_seconds=lease)
    killed_at = time.monotonic()
    doomed.kill_group()
    assert result.get(timeout=30) == result.id
    took = time.monotonic() - killed_at
    # lease + recovery tick + rerun of a 2 s task, with margin for a loaded 2-core machine.
    assert took < lease + 1 + 2 + 3, f"recovery took {took:.1f}s"
    runs = executions(scripts)
    assert runs.count(result.id) == 2, f"exactly the killed run and the rerun expected, got {runs}"
    wait_until(lambda: all(not key.startswith(doomed.name.encode()) for key in registered_nodes(redis_server.client)),
               10, "the dead node to leave the registry")
    assert survivor.running()


def test_many_tasks_survive_repeated_child_kills_without_loss(redis_server, start_node, celery_app):
    node = start_node(redis_server.url, concurrency=2)
    results = [celery_app.send_task("caraway.sleep", args=[0.2]) for _ in range(30)]
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        children = node.children()
        if children:
            os.kill(children[0], signal.SIGKILL)
        time.sleep(0.4)
    assert [r.get(timeout=60) for r in results] == [0.2] * 30
    assert node.running()


def test_children_die_with_their_node(redis_server, start_node):
    node = start_node(redis_server.url, concurrency=2)
    children = wait_until(lambda: len(node.children()) == 2 and node.children(), 10, "two children")
    os.kill(node.process.pid, signal.SIGKILL)   # the node alone, not its process group
    node.wait(timeout=10)

    def gone(pid: int) -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split()[2]
            return state == "Z"
        except FileNotFoundError:
            return True
    wait_until(lambda: all(gone(pid) for pid in children), 5, "orphaned children to exit")
