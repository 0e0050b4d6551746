"""Reproduction: a reserve reply that arrives after the node's lease ran out is run anyway, twice.

    .venv/bin/python chaos/repro/redis_stale_reserve_reply.py   # exit 1: bug reproduced, 0: fixed

Found by the chaos harness (docs/reliability.md, bug 6: the short scenario, seed 202, in CI: task
w202-003024 ran on node2 as a redelivery, then 2 s later on node3 as its FIRST delivery, when a
"freeze" partition of node3 ended). node3's reserve had run in Redis just as the link froze; the
frozen link held the reply longer than node3's lease, so node2 recovered the message and ran it;
when the link thawed, node3 got the old reply and ran its copy too — a duplicate no fault of the
running copy explains.

Here a TCP front between node `stale1` and Redis lets the node's first `reserve` reach Redis, then
holds everything on that connection, both ways, for 4.5 s (the lease is 2 s, the command timeout
5 s). A second node, connected directly and consuming another queue, only recovers the expired
lease. The task records each run (`caraway.chaos_record`); it must run exactly once.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

from common import Front, caraway_binary, is_reserve, private_redis
from carawaytest import start_caraway_node, wait_ready_200

HOLD_SECONDS = 4.5


class FreezeFront(Front):
    """Forwards to Redis; once armed, the first reserve goes through and then its connection freezes."""

    def __init__(self, upstream_port: int):
        self.armed = threading.Event()
        self.fired = threading.Event()
        self.thawed = threading.Event()
        super().__init__(upstream_port)

    def connected(self, client):
        upstream = self.upstream()
        frozen = threading.Event()
        threading.Thread(target=self.pump, args=(client, upstream, frozen, True), daemon=True).start()
        threading.Thread(target=self.pump, args=(upstream, client, frozen, False), daemon=True).start()

    def pump(self, source, destination, frozen, from_client):
        try:
            while data := source.recv(65536):
                if from_client and self.armed.is_set() and not self.fired.is_set() and is_reserve(data):
                    destination.sendall(data)  # the reserve runs in Redis...
                    self.fired.set()
                    frozen.set()  # ...and from now on nothing moves either way until the thaw
                    threading.Timer(HOLD_SECONDS, self.thawed.set).start()
                    continue
                if frozen.is_set():
                    self.thawed.wait()
                destination.sendall(data)
        except OSError:
            pass


def runs(log: Path, task_id: str) -> list[dict]:
    if not log.exists():
        return []
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [e for e in entries if e.get("id") == task_id]


def main() -> int:
    binary = caraway_binary()
    work, server = private_redis("stale")
    chaos_log = work / "executions.jsonl"
    front = FreezeFront(server.port)
    env = {"CARAWAY_CHAOS_LOG": str(chaos_log)}
    node = start_caraway_node(binary, f"redis://127.0.0.1:{front.port}/0", work, "stale1", concurrency=1,
                              lease_seconds=2, env=env)
    peer = start_caraway_node(binary, server.url, work, "peer1", concurrency=1, lease_seconds=2, queues="other",
                              env=env)
    try:
        wait_ready_200(node, 15)
        wait_ready_200(peer, 15)
        time.sleep(0.5)
        front.armed.set()
        from celery import Celery
        app = Celery("repro", broker=server.url, set_as_current=False)
        task_id = "stale-reply-1"
        app.send_task("caraway.chaos_record", args=["w", 0], task_id=task_id)
        client = server.client()
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline and not client.get(f"celery-task-meta-{task_id}"):
            time.sleep(0.1)
        time.sleep(3)  # room for a second run to show up
        if not front.fired.is_set():
            print("inconclusive: the node never sent a reserve through the trap")
            return 2
        found = runs(chaos_log, task_id)
        deliveries = [r.get("delivery") for r in found]
        if len(found) == 1:
            print(f"fixed: the task ran once (delivery {deliveries[0]}) after the link held the reserve's reply "
                  f"{HOLD_SECONDS}s, past the 2 s lease")
            return 0
        if not found:
            print(f"inconclusive: the task never ran; logs in {work}")
            return 2
        print(f"BUG reproduced: the task ran {len(found)} times (deliveries {deliveries}): the reply held past the "
              f"lease was run after the message was recovered; logs in {work}")
        return 1
    finally:
        node.kill_group()
        peer.kill_group()
        server.kill()


if __name__ == "__main__":
    sys.exit(main())
