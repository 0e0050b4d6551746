"""Regression tests for the Redis-outage bugs the chaos harness found (docs/reliability.md): a
refused reconnect that hung, a reset connection left as a zombie, a node that never reserved again
after its children finished while Redis was away, a stray in-flight entry after a lost reserve
reply, a wake-up lost while the commands connection was down, and a reserve reply held past the
lease that was run after peers had recovered the message. Each repro exits 0 when fixed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(150)
@pytest.mark.parametrize("script", ["redis_refused_reconnect.py", "redis_reset_zombie.py", "redis_restart_stall.py",
                                    "redis_lost_reserve_reply.py", "redis_commands_down_wakeup_lost.py",
                                    "redis_stale_reserve_reply.py"])
def test_redis_outage_repro_is_fixed(caraway_bin, script):
    env = dict(os.environ, CARAWAY_BIN=str(Path(caraway_bin).resolve()))
    result = subprocess.run([sys.executable, str(REPO / "chaos/repro" / script)], capture_output=True, text=True,
                            timeout=140, env=env, cwd=REPO, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, f"{script} still reproduces (exit {result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
