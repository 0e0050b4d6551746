"""Reproduction: a node that finishes its tasks while Redis is briefly away never reserves again.

    .venv/bin/python chaos/repro/redis_restart_stall.py      # exit 1: bug reproduced, 0: fixed
                                                             # (2: masked by the reconnect bug)

Found by the chaos harness (docs/reliability.md, "Findings"). One node (concurrency 1, lease 10 s
so the outage never costs the lease), a private Redis with AOF, five `caraway.sleep(1)` tasks.
While the first one runs, Redis is killed (-9) and restarted from its AOF on the same port 2 s
later. The running task finishes during the outage; its settle is retried and succeeds once Redis
is back — but nothing calls `fill()` again:
- `Consumer.completed` calls `fill()` right away, while `isBrokerReady()` is false;
- the durable settle's completion does not fill; a failed reserve is only logged (debug);
- after a reconnect that keeps the lease, `heartbeater.onRegistered` (the only `wake()`) does not
  run, and the queue waiter is not armed because the queues were not empty.
So the four queued tasks wait forever although the node is /ready and idle (I1: liveness).
"""

from __future__ import annotations

import sys
import time

from common import caraway_binary, private_redis
from carawaytest import queue_length, start_caraway_node, wait_ready_200


def main() -> int:
    binary = caraway_binary()
    work, server = private_redis("stall")
    node = start_caraway_node(binary, server.url, work, "stall1", concurrency=1, lease_seconds=10)
    try:
        wait_ready_200(node, 15)
        from celery import Celery
        app = Celery("repro", broker=server.url, set_as_current=False)  # no result backend: we read keys
        results = [app.send_task("caraway.sleep", args=[1]) for _ in range(5)]
        client = server.client()
        deadline = time.monotonic() + 10
        while queue_length(client, "celery") > 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        server.kill()
        time.sleep(2.0)  # the running task finishes while Redis is away
        server.start()
        client = server.client()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            done = sum(1 for r in results if client.get(f"celery-task-meta-{r.id}"))
            if done == len(results):
                print(f"fixed: all {done} tasks finished after the Redis restart")
                return 0
            time.sleep(0.2)
        waiting = queue_length(client, "celery")
        status, body = node.get("/ready")
        if status != 200:
            print(f"BUG (redis_refused_reconnect.py): the node never reconnected to Redis: /ready {status} {body!r}; "
                  f"{done}/{len(results)} tasks finished; log: {node.log_path}")
            return 2
        print(f"BUG reproduced: {done}/{len(results)} tasks finished; {waiting} still queued 20 s after Redis came back "
              f"although the node is ready and idle (/ready {status}); log: {node.log_path}")
        return 1
    finally:
        node.kill_group()
        server.kill()


if __name__ == "__main__":
    sys.exit(main())
