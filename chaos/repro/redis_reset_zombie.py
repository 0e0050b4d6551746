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

import os
import select
import socket
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from cluster import REPO, ChaosRedis  # noqa: E402
from carawaytest import start_caraway_node  # noqa: E402


def front(upstream_port: int, resets: int) -> int:
    """Listens on a free port; resets the first `resets` connections, forwards the rest."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    count = [0]

    def pump(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.close()
            except OSError:
                pass

    def serve():
        while True:
            client, _ = listener.accept()
            count[0] += 1
            if count[0] <= resets:
                select.select([client], [], [], 5)  # the node sent its first command
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()  # unread data + linger 0: the node gets a RST
                continue
            upstream = socket.create_connection(("127.0.0.1", upstream_port))
            threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1]


def main() -> int:
    binary = Path(os.environ.get("CARAWAY_BIN") or REPO / ".build" / "release" / "caraway")
    work = Path(tempfile.mkdtemp(prefix="caraway-repro-reset-"))
    server = ChaosRedis(work / "redis")
    server.start()
    port = front(server.port, resets=2)
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
