"""Reproduction: a Redis connection that receives a TCP reset is never noticed (zombie).

    .venv/bin/python chaos/repro/redis_reset_zombie.py   # exit 1: bug reproduced, 0: fixed

Found by the chaos harness (docs/reliability.md, "Findings"). A small TCP front in this script
answers the node's first two Redis connections with a reset as soon as the node has sent its first
command (SO_LINGER 0 + close with unread data: RST), and forwards every later connection to a real
Redis. The first two connections a node opens are `commands` and the pub/sub `control` connection
(Celery remote control, "pidbox").

A correct client sees ECONNRESET at once and reconnects. The node instead:
- keeps the `commands` connection as a zombie until its 5 s command timeout (start-up, heartbeats,
  reserves all wait 5 s; under load that costs the node its lease);
- keeps the `control` connection as a zombie FOREVER (pub/sub has no command timeout): the node is
  /ready but never again answers `celery inspect ping`, `celery control ...` or
  `caraway revoke --terminate` broadcasts.

Same cause as redis_refused_reconnect.py: hiredis 0.14.1's libuv adapter drops poll errors
(POLLERR after a reset), so hiredis never reads the error (redis/hiredis#624).
"""

from __future__ import annotations

import select
import sys
import time

from common import Front, caraway_binary, private_redis, reset
from carawaytest import start_caraway_node


class ResetFront(Front):
    """Resets the first `resets` connections once the node has sent something; forwards the rest."""

    def __init__(self, upstream_port: int, resets: int):
        self.resets = resets
        self.count = 0
        super().__init__(upstream_port)

    def connected(self, client):
        self.count += 1
        if self.count <= self.resets:
            select.select([client], [], [], 5)  # the node sent its first command
            reset(client)  # unread data + linger 0: the node gets a RST
            return
        super().connected(client)


def main() -> int:
    binary = caraway_binary()
    work, server = private_redis("reset")
    port = ResetFront(server.port, resets=2).port
    node = start_caraway_node(binary, f"redis://127.0.0.1:{port}/0", work, "reset1", concurrency=1)
    from celery import Celery
    try:
        started = time.monotonic()
        ready_after = None
        while time.monotonic() - started < 15:
            try:
                status, _ = node.get("/ready")
            except OSError:  # HTTP not listening yet
                status = None
            if status == 200:
                ready_after = time.monotonic() - started
                break
            time.sleep(0.05)
        time.sleep(1.0)
        app = Celery("repro", broker=server.url, set_as_current=False)
        replies = []
        for _ in range(5):
            replies = app.control.ping(destination=["reset1"], timeout=1.0)
            if replies:
                break
        app.close()
        slow = ready_after is None or ready_after > 2.0
        deaf = not replies
        print(f"node ready after {ready_after if ready_after is None else round(ready_after, 2)}s "
              f"({'slow: the reset commands connection sat until its 5 s timeout' if slow else 'ok'}); "
              f"remote control ping: {replies or 'no reply (pub/sub connection is a zombie)'}")
        if slow or deaf:
            print(f"BUG reproduced; log: {node.log_path}")
            return 1
        print("fixed")
        return 0
    finally:
        node.kill_group()
        server.kill()


if __name__ == "__main__":
    sys.exit(main())
