"""Reproduction: a wake-up that arrives while the commands connection is down is lost for good.

    .venv/bin/python chaos/repro/redis_commands_down_wakeup_lost.py   # exit 1: bug reproduced, 0: fixed

Found by the chaos harness (docs/reliability.md, bug 5: the long run, seed 20261123, flagged node2
as stalled — ready, idle, work queued, no task for 11 s — after a Redis restart, with the fixes for
bugs 1–3 in). The node was idle, so its queue waiter had BLMOVE armed. After the restart, a wait
connection came back 1.6 s before the `commands` connection; work arrived, BLMOVE returned, and the
waiter disarmed itself and called `onData` → `Consumer.fill()`, which returned at once because
`isBrokerReady()` was false (commands connection down). When the commands connection came back, the
renew kept the lease, so `heartbeater.onRegistered` — the only `consumer.wake()` — did not run,
and nothing else ever called `fill()`: the node idled with work queued.

This script makes the same order deterministic with a small TCP front: once the node's `commands`
connection is known (it is the one that sends the heartbeat script on `caraway:nodes`), the front
resets that connection only and refuses reconnects for 3 s while the wait connections stay up; a
task is pushed meanwhile. The fix: `consumer.wake()` after every successful renew following a
reconnect of the commands connection (the place the stray-entry reconcile of bug 4 needs too).
"""

from __future__ import annotations

import socket
import sys
import threading
import time

from common import Front, caraway_binary, close_quietly, listen, private_redis, reset
from carawaytest import start_caraway_node, wait_ready_200


class CutFront(Front):
    """Forwards to Redis and remembers the node's commands connection (the one that sends the
    heartbeat script on `caraway:nodes`) so it alone can be cut."""

    def __init__(self, upstream_port: int):
        self.commands = None        # (client, upstream) of the node's commands connection
        self.lock = threading.Lock()
        super().__init__(upstream_port)

    def connected(self, client):
        upstream = self.upstream()
        threading.Thread(target=self.pump, args=(client, upstream, True), daemon=True).start()
        threading.Thread(target=self.pump, args=(upstream, client, False), daemon=True).start()

    def pump(self, source, destination, from_client):
        try:
            while data := source.recv(65536):
                if from_client and b"caraway:nodes" in data and b"EVALSHA" in data.upper():
                    with self.lock:
                        self.commands = (source, destination)
                destination.sendall(data)
        except OSError:
            pass
        close_quietly(source, destination)

    def cut_commands_and_refuse(self):
        """Closes the listener (reconnects get ECONNREFUSED) and resets the commands connection."""
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() and stops listening
        self.listener.close()
        client, upstream = self.commands
        reset(client)
        close_quietly(upstream)

    def listen_again(self):
        self.listener = listen(self.port)
        self.start_serving()


def main() -> int:
    binary = caraway_binary()
    work, server = private_redis("wakeup")
    front = CutFront(server.port)
    node = start_caraway_node(binary, f"redis://127.0.0.1:{front.port}/0", work, "wake1", concurrency=1,
                              lease_seconds=10)
    try:
        wait_ready_200(node, 15)
        deadline = time.monotonic() + 10
        while front.commands is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if front.commands is None:
            print("inconclusive: never saw the node's heartbeat")
            return 2
        time.sleep(1.0)  # idle: every queue empty, the waiter's BLMOVEs are armed
        front.cut_commands_and_refuse()
        time.sleep(0.5)
        from celery import Celery
        app = Celery("repro", broker=server.url, set_as_current=False)
        task_id = "wakeup-1"
        app.send_task("caraway.add", args=[2, 3], task_id=task_id)  # BLMOVE returns; fill() cannot reserve
        time.sleep(2.5)
        front.listen_again()  # the commands connection comes back; the lease (10 s) was kept
        client = server.client()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if client.get(f"celery-task-meta-{task_id}"):
                print("fixed: the task ran once the commands connection was back")
                return 0
            time.sleep(0.2)
        status, _ = node.get("/ready")
        queued = client.llen("celery")
        print(f"BUG reproduced: 15 s after the commands connection came back the task has not run; "
              f"{queued} message(s) queued, node /ready {status}, idle; log: {node.log_path}")
        return 1
    finally:
        node.kill_group()
        server.kill()


if __name__ == "__main__":
    sys.exit(main())
