"""The chaos harness (chaos/, docs/reliability.md) against real nodes, and its self-test.

- the short scenario with a fixed seed passes: nothing lost, no duplicate tick, every fault kind
  injected;
- with a bug planted on purpose (CARAWAY_PLANTED_BUG) the harness fails and names it: acking
  before the result loses tasks when children die; firing without the fence fires ticks twice
  after a paused leader resumes;
- the checker's rules on synthetic records (no processes), so a rule change shows up at once.

The harness runs as a subprocess (it starts its own Redis, Postgres, proxies and nodes); its JSON
report is what the assertions read. When a run fails, its table and the kept data dir (node logs,
executions log, report) are in the assertion message.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from carawaytest import REPO

sys.path.insert(0, str(REPO / "chaos"))

HARNESS = REPO / "chaos" / "harness.py"
FAULT_KINDS = {"kill_child", "kill_node", "stop_leader", "restart_redis", "restart_postgres", "partition", "latency"}


def run_harness(caraway_bin: Path, tmp_path: Path, *arguments: str, timeout: float):
    report_path = tmp_path / "report.json"
    argv = [sys.executable, "-u", str(HARNESS), "--bin", str(caraway_bin), "--data", str(tmp_path / "run"),
            "--report", str(report_path), "--progress", "30", *arguments]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=REPO, stdin=subprocess.DEVNULL)
    output = completed.stdout[-6000:] + completed.stderr[-3000:]
    assert report_path.exists(), f"the harness wrote no report (exit {completed.returncode}):\n{output}"
    return completed.returncode, json.loads(report_path.read_text()), output


@pytest.mark.timeout(330)
def test_short_scenario_with_a_fixed_seed_passes(caraway_bin, tmp_path):
    code, report, output = run_harness(caraway_bin, tmp_path, "--scenario", "short", "--seed", "202", timeout=320)
    assert code == 0, f"the short chaos scenario failed (exit {code}):\n{output}"
    summary = report["summary"]
    assert report["violations"] == []
    assert summary["tasks"]["lost"] == 0 and summary["tasks"]["succeeded"] == summary["tasks"]["confirmed"] > 1000
    assert summary["duplicates"]["unexplained"] == 0
    assert summary["ticks"]["duplicate_ticks"] == 0 and summary["ticks"]["missing"] == 0 and summary["ticks"]["ticks"] > 100
    assert summary["leaders"]["epochs_with_two_leaders"] == 0
    injected = {kind for kind, count in report["fault_counts"].items() if count}
    assert FAULT_KINDS <= injected, f"fault kinds never injected: {FAULT_KINDS - injected}"
    assert report["wall_seconds"] < 240, f"the short scenario took {report['wall_seconds']}s (budget 4 min)"


@pytest.mark.timeout(150)
def test_planted_ack_before_result_is_caught_as_lost_tasks(caraway_bin, tmp_path):
    code, report, output = run_harness(caraway_bin, tmp_path, "--seed", "11", "--duration", "30", "--faults", "15",
                                       "--kinds", "kill_child,kill_node", "--planted-bug", "ack-before-result",
                                       timeout=140)
    assert code == 1, f"the planted ack-before-result bug went unnoticed (exit {code}):\n{output}"
    assert report["summary"]["tasks"]["lost"] > 0, output
    assert "lost" in {v["check"] for v in report["violations"]}


@pytest.mark.timeout(150)
def test_planted_unfenced_fire_is_caught_as_duplicate_ticks(caraway_bin, tmp_path):
    code, report, output = run_harness(caraway_bin, tmp_path, "--seed", "12", "--duration", "30", "--faults", "2",
                                       "--kinds", "stop_leader", "--planted-bug", "unfenced-fire", timeout=140)
    assert code == 1, f"the planted unfenced-fire bug went unnoticed (exit {code}):\n{output}"
    assert report["summary"]["ticks"]["duplicate_ticks"] > 0, output
    assert "duplicate_tick" in {v["check"] for v in report["violations"]}
    assert report["fault_counts"].get("stop_leader", 0) >= 1


# ---- the checker's rules, on synthetic records --------------------------------------------------

def _checker(executions, faults, sent=None, fires=(), events=(), results=None):
    from checks import Checker
    sent = sent or {}
    results = results or {i: "SUCCESS" for i in sent}
    end = {"nodes": [{"name": "n1", "ready": True, "leader": True}], "dead_letters": 0}
    checker = Checker(executions=executions, sent=sent, results=results, faults=faults, events=list(events),
                      fires=list(fires), schedule_id=1, every_ms=1000, lease=3.0, ttl=3.0, end_state=end,
                      settle={"drained": True, "seconds": 1})
    checker.run()
    return checker


def _run(task_id, node, pid, t):
    return {"id": task_id, "tag": "w", "node": node, "pid": pid, "t": t, "delivery": 1}


def _fault(number, kind, start, end=None, **fields):
    return {"id": number, "kind": kind, "start": start, "end": end if end is not None else start, "ok": True, **fields}


def test_checker_explains_a_rerun_only_by_a_fault_that_hit_the_running_copy():
    sent = {"a": {"sleep_ms": 200, "sent_at": 0, "confirmed": True}, "b": {"sleep_ms": 200, "sent_at": 0, "confirmed": True},
            "c": {"sleep_ms": 200, "sent_at": 0, "confirmed": True}}
    executions = [_run("a", "n1", 11, 100.0), _run("a", "n2", 21, 100.3),        # its child was killed
                  _run("b", "n1", 12, 100.0), _run("b", "n2", 22, 110.0),        # killed child is another pid
                  _run("c", "n1", 13, 100.0), _run("c", "n2", 23, 104.0)]        # node killed 5 s later: too late
    faults = [_fault(1, "kill_child", 100.1, node="n1", pid=11), _fault(2, "kill_child", 100.1, node="n1", pid=99),
              _fault(3, "kill_node", 105.0, 106.0, node="n1")]
    checker = _checker(executions, faults, sent=sent)
    unexplained = {v["task_id"] for v in checker.violations if v["check"] == "unexplained_duplicate"}
    assert unexplained == {"b", "c"}
    assert checker.summary["duplicates"]["explained_by_kind"] == {"kill_child": 1}


def test_checker_counts_two_ids_for_one_tick_and_missing_ticks_outside_fault_windows():
    sent = {}
    runs = [_run("beat-1-1000", "n1", 1, 1.0), _run("beat-1-2000", "n1", 1, 2.0),
            _run("beat-1-2000-dup", "n2", 2, 2.1),                               # a second fire of tick 2000
            _run("beat-1-5000", "n1", 1, 5.0)]                                   # 3000 and 4000 never fired
    results = {r["id"]: "SUCCESS" for r in runs}
    checker = _checker(runs, [_fault(1, "stop_leader", 3.9, 4.2, node="n1")], sent=sent, results=results)
    ticks = checker.summary["ticks"]
    assert ticks["duplicate_ticks"] == 1
    assert ticks["missing"] == 2 and ticks["missing_in_fault_windows"] == 2  # both within [start-1, end+TTL+2]
    checker = _checker(runs, [], sent=sent, results=results)
    assert {v["check"] for v in checker.violations} >= {"duplicate_tick", "missing_tick", "unrecorded_fire"}
