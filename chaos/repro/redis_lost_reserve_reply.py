"""Reproduction: a reserve whose reply is lost leaves a stray in-flight entry that nobody requeues.

    .venv/bin/python chaos/repro/redis_lost_reserve_reply.py   # exit 1: bug reproduced, 0: fixed

Found by the chaos harness (docs/reliability.md, bug 4: the short scenario, seed 202, ended with an
accepted task never started and one entry left in a node's in-flight hash). A small TCP front in
this script forwards the node's Redis traffic, and once armed it lets the node's first `reserve`
script call (EVALSHA over the queue key `celery`) reach Redis but resets the node's connection
before the reply gets back. Redis has moved the message into the node's in-flight hash; the node
saw only a lost connection. It reconnects at once and keeps its lease, so it does not re-register,
and the stray-entry reconcile (`Consumer.reconcile`, run from `heartbeater.onRegistered`) never
runs; peers never recover it either, since the node's lease stays alive. The task waits forever.
"""

from __future__ import annotations

import sys
import threading
import time

from common import Front, caraway_binary, close_quietly, is_reserve, private_redis, reset
from carawaytest import inflight_total, start_caraway_node, wait_ready_200


class TrapFront(Front):
    """Forwards to Redis; when armed, drops the reply to the first reserve and resets the client."""

    def __init__(self, upstream_port: int):
        self.armed = threading.Event()
        self.fired = threading.Event()
        super().__init__(upstream_port)

    def connected(self, client):
        upstream = self.upstream()
        muted = threading.Event()  # set: replies on this connection are no longer relayed
        threading.Thread(target=self.client_to_server, args=(client, upstream, muted), daemon=True).start()
        threading.Thread(target=self.server_to_client, args=(upstream, client, muted), daemon=True).start()

    def client_to_server(self, client, upstream, muted):
        try:
            while data := client.recv(65536):
                trap = self.armed.is_set() and not self.fired.is_set() and is_reserve(data)
                if trap:
                    self.fired.set()
                    muted.set()
                upstream.sendall(data)
                if trap:
                    time.sleep(0.3)  # Redis runs the script; its reply is dropped
                    reset(client)
                    close_quietly(upstream)
                    return
        except OSError:
            pass
        close_quietly(client, upstream)

    def server_to_client(self, upstream, client, muted):
        try:
            while data := upstream.recv(65536):
                if not muted.is_set():
                    client.sendall(data)
        except OSError:
            pass


def main() -> int:
    binary = caraway_binary()
    work, server = private_redis("lostreply")
    front = TrapFront(server.port)
    node = start_caraway_node(binary, f"redis://127.0.0.1:{front.port}/0", work, "lost1", concurrency=1,
                              lease_seconds=10)
    try:
        wait_ready_200(node, 15)
        time.sleep(0.5)
        front.armed.set()
        from celery import Celery
        app = Celery("repro", broker=server.url, set_as_current=False)
        task_id = "lost-reply-1"
        app.send_task("caraway.add", args=[2, 3], task_id=task_id)
        client = server.client()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if client.get(f"celery-task-meta-{task_id}"):
                print(f"fixed: the task ran (trap fired: {front.fired.is_set()})")
                return 0
            time.sleep(0.2)
        if not front.fired.is_set():
            print("inconclusive: the node never sent a reserve through the trap")
            return 2
        status, _ = node.get("/ready")
        print(f"BUG reproduced: the reserve's reply was lost; 20 s later the task has no result, the queue is "
              f"empty and {inflight_total(client)} entry stays in the node's in-flight hash (node /ready {status}); "
              f"log: {node.log_path}")
        return 1
    finally:
        node.kill_group()
        server.kill()


if __name__ == "__main__":
    sys.exit(main())
