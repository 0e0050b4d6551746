"""Reproduction: a node never reconnects to Redis after Redis restarts (a refused connect hangs).

    .venv/bin/python chaos/repro/redis_refused_reconnect.py   # exit 1: bug reproduced, 0: fixed

Found by the chaos harness (docs/reliability.md, "Findings"). One node connected straight to a
private Redis (no proxy). Redis is killed and restarted from its AOF on the same port 0.3 s later.
Every reconnect attempt the node makes while the port is closed hangs for good, so the node stays
`/ready` 503 (`"redis": false`) forever and holds no Redis connection at all (CLIENT LIST).

Cause: hiredis 0.14.1's libuv adapter (Debian's libhiredis0.14, adapters/libuv.h) returns from its
poll callback when `status != 0`. A refused non-blocking connect (and a connection reset) shows up
as POLLERR, for which libuv stops the poll handle and calls back with UV_EBADF; the adapter drops
it, so hiredis never learns the connect failed and never calls the connect callback, and
`RedisConnection` (no connect timeout) stays in `.connecting` forever. hiredis fixed the adapter in
1.0 (redis/hiredis#624: `int ev = (status ? p->events : events);`).
"""

from __future__ import annotations

import subprocess
import sys
import time

from common import caraway_binary, private_redis
from carawaytest import start_caraway_node, wait_ready_200


def main() -> int:
    binary = caraway_binary()
    work, server = private_redis("refused")
    node = start_caraway_node(binary, server.url, work, "refused1", concurrency=1, lease_seconds=10)
    try:
        wait_ready_200(node, 15)
        server.kill()
        killed = time.monotonic()
        time.sleep(0.3)
        server.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            status, body = node.get("/ready")
            if status == 200:
                print(f"fixed: the node was ready again {time.monotonic() - killed:.2f}s after the kill")
                return 0
            time.sleep(0.1)
        clients = subprocess.run(["redis-cli", "-p", str(server.port), "client", "list"], capture_output=True,
                                 text=True).stdout.strip().splitlines()
        print(f"BUG reproduced: 15 s after Redis came back the node is still not ready (/ready {status} {body!r}); "
              f"Redis sees {len(clients) - 1} connection(s) from it; log: {node.log_path}")
        return 1
    finally:
        node.kill_group()
        server.kill()


if __name__ == "__main__":
    sys.exit(main())
