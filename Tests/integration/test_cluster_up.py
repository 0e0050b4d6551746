"""The README's main command: `cluster/up` brings up Redis (AOF), Postgres (unprivileged user) and
three nodes, runs the demo tasks and the demo schedule; `cluster/down` stops it cleanly."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from carawaytest import run_caraway, wait_until

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(420)
def test_cluster_up_runs_the_demo_and_cluster_down_stops_it(caraway_bin):
    # Postgres runs as an unprivileged user: its data must sit under directories it can traverse.
    base = Path(tempfile.mkdtemp(prefix="caraway-cluster-", dir="/tmp"))
    os.chmod(base, 0o755)
    data = base / "c"
    lines: list[str] = []
    up = subprocess.Popen([str(REPO / "cluster/up"), "--data", str(data)], cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL, start_new_session=True)
    reader = threading.Thread(target=lambda: [lines.append(line.rstrip("\n")) for line in up.stdout], daemon=True)
    reader.start()
    try:
        wait_until(lambda: any("demo: schedule demo-every-5s fires" in l for l in lines) or up.poll() is not None,
                   360, "cluster/up to finish its demo", interval=0.5)
        output = "\n".join(lines)
        assert up.poll() is None, f"cluster/up exited early ({up.returncode}):\n{output}"
        assert "Caraway cluster is up: 3 nodes" in output, output
        assert "demo: add(2, 3) → 5" in output, output
        assert "demo: xsum([1..10]) → 55" in output, output
        assert "this one fails on purpose" in output, output
        assert "3 nodes: 3 ok, 0 stale, 0 missing" in output, output
        leader = next(l for l in lines if "demo: schedule demo-every-5s" in l)
        assert "leader: node" in leader, leader

        env = dict(line.split("=", 1) for line in (data / "cluster.env").read_text().splitlines() if "=" in line)
        database = env["CARAWAY_DATABASE_URL"]

        def fired_twice():
            shown = run_caraway(caraway_bin, "schedule", "show", "demo-every-5s", "--database", database, "--json")
            return shown.returncode == 0 and '"total_run_count":' in shown.stdout and \
                int(shown.stdout.split('"total_run_count":')[1].split(",")[0].strip()) >= 2
        wait_until(fired_twice, 20, "the demo schedule to fire twice", interval=1)

        down = subprocess.run([str(REPO / "cluster/down"), "--data", str(data)], cwd=REPO, capture_output=True,
                              text=True, timeout=150)
        assert down.returncode == 0, down.stdout + down.stderr
        assert up.wait(timeout=30) == 0
        reader.join(timeout=5)
        output = "\n".join(lines)
        assert "cluster: stopped." in output, output
        assert not (data / "up.pid").exists()
    finally:
        if up.poll() is None:
            os.killpg(up.pid, 15)
            try:
                up.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(up.pid, 9)
        shutil.rmtree(base, ignore_errors=True)
