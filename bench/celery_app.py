"""The Celery side of bench/harness.py: the same task names as Caraway's built-ins, so the one load
generator (caraway-bench, speaking Celery's wire format) feeds both systems identical messages.

Settings match the Caraway node under test: acks-late, reject-on-worker-lost, prefetch 1, JSON. The
worker itself runs with `-P prefork -c 2 -O fair --without-gossip --without-mingle
--without-heartbeat`: Celery's fastest honest configuration for this load (the three `--without`
flags only drop cluster chatter that costs Celery throughput and is not what is measured)."""

import os

from celery import Celery
from celery.signals import worker_ready

redis_url = os.environ["BENCH_REDIS_URL"]
app = Celery("bench", broker=redis_url, backend=redis_url)
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    timezone="UTC",
    # celery beat for scenario (g): one tick per second onto a queue no worker consumes, where the
    # harness times each arrival.
    beat_schedule={
        "bench-probe": {"task": "caraway.noop", "schedule": 1.0, "options": {"queue": "bench-beat-celery"}},
    },
)


@app.task(name="caraway.noop")
def noop():
    return None


@app.task(name="caraway.add")
def add(x, y):
    return x + y


@worker_ready.connect
def _announce_ready(**_):
    # The harness waits for this file: the pool is up and the consumer is polling.
    path = os.environ.get("BENCH_READY_FILE")
    if path:
        open(path, "w").close()
